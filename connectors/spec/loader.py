"""Find and load the JSON spec files (from the source tree or from inside the wheel)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from connectors.spec.models import CommandTable, ConnectionSpec, ObjectSpec

M = TypeVar("M", bound=BaseModel)


class SpecError(ValueError):
    """A spec file is missing, is not JSON, or says something the spec format does not allow."""


def specs_dir() -> Path:
    """The directory holding the spec files: inside the package when installed from a wheel,
    next to the package in a source checkout or an editable install."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "specs", here.parent / "specs"):
        if (candidate / "connection.json").is_file():
            return candidate
    raise SpecError(f"spec files not found next to {here}")


def load_model(path: Path, model: type[M]) -> M:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"key {'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SpecError(f"{path}: {problems}") from None


@dataclass(frozen=True)
class Specs:
    objects: dict[str, ObjectSpec]
    commands: CommandTable
    connection: ConnectionSpec

    def object(self, name: str) -> ObjectSpec:
        try:
            return self.objects[name]
        except KeyError:
            raise SpecError(f"unknown Personyze object {name!r}") from None

    def readable(self) -> list[ObjectSpec]:
        return [o for o in self.objects.values() if o.readable]


def load_specs(directory: Path | None = None) -> Specs:
    root = directory or specs_dir()
    objects: dict[str, ObjectSpec] = {}
    for path in sorted((root / "objects").glob("*.json")):
        spec = load_model(path, ObjectSpec)
        if spec.name != path.stem:
            raise SpecError(f"{path}: key name: {spec.name!r} must equal the file name")
        objects[spec.name] = spec
    for spec in objects.values():
        parent = spec.read.parent
        if parent is not None and parent.object not in objects:
            raise SpecError(
                f"{root / 'objects' / spec.name}.json: key read.parent.object: "
                f"unknown object {parent.object!r}"
            )
    return Specs(
        objects=objects,
        commands=load_model(root / "commands.json", CommandTable),
        connection=load_model(root / "connection.json", ConnectionSpec),
    )


@lru_cache(maxsize=1)
def default_specs() -> Specs:
    """The shipped specs, loaded once per process."""
    return load_specs()
