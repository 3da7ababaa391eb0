"""Write adapters over the core write engine: the Singer target ``target-personyze``
(``target_personyze.target``) and the Airbyte destination ``destination-personyze``."""
