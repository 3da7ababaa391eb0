"""`make demo` (`python scripts/demo`): the whole round trip on a local sandbox.

1. start personyze-sandbox with the demo dataset and summarise every object through the core
   (core_summary.py; `python scripts/demo/core_summary.py` does that step alone);
2. sync it with the Airbyte source (`source-personyze read`) into JSONL files;
3. sync it with the Singer tap through Meltano (`meltano run tap-personyze target-jsonl`);
   these three reads leave the account unchanged, so their numbers agree;
4. the `recommendations` stream, which writes to the account (every read is a page view):
   read last, with the opt-in `record_recommendation_page_views`, printing what it recorded
   (recommendations.py);
5. reverse ETL: a local SQLite table of customers and purchases, sent through
   `target-personyze` into the sandbox, and read back (reverse_etl.py).

Output goes to demo-output/. The key only ever travels in environment variables and files.
"""

from __future__ import annotations

import shutil
import sys

from core_summary import print_summary
from read_adapters import source_to_files, tap_through_meltano
from recommendations import recommendations_opt_in
from reverse_etl import reverse_etl
from steps import OUT, ROOT, step

from personyze_sandbox.process import running_sandbox


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    print("Starting personyze-sandbox with the demo dataset…", flush=True)
    with running_sandbox("demo", seed=7) as sb:
        step(f"Every object at {sb.base_url}/, read back through the core")
        print_summary(sb, concurrency=4)
        source_to_files(sb)
        tap_through_meltano(sb)
        recommendations_opt_in(sb)
        reverse_etl(sb)
    print(f"\nDone; files in {OUT.relative_to(ROOT)}/. Sandbox stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
