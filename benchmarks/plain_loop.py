"""The reference reader of the read benchmark: the simplest correct one a user would write.

One process, one thread, one httpx connection, the standard library's json, rows written as
JSON lines; tie-safe keyset paging as the API needs it (api §4.7): pages of 50 on ``key>=low``,
a page holding one value read whole by an equality read of up to 1,000 rows, a group of 1,000
or more continued by the tie-breaker (unique here: user_id for users; interactions have no
group that large). It is the CPU ceiling of the benchmark and the plan whose requests the
adapters are held to.

    python benchmarks/plain_loop.py BASE_URL STREAM OUT.jsonl   # the key in PERSONYZE_API_KEY
    python benchmarks/plain_loop.py BASE_URL STREAM OUT.jsonl LOW HIGH   # LOW <= key <= HIGH

With LOW and HIGH it reads that slice only and prints the rows, then the wall-clock times
(``time.time()``) of its first request and of its end: the benchmark runs 8 of them at once
on an exact split of the key to measure what the sandbox serves 8 at a time.
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

KEYS = {"products_interactions": ("time", "user_id"), "users": ("data_last_modified", "user_id")}
PAGE = 50
GROUP = 1000


def main(base_url: str, stream: str, out_path: str, *bounds: str) -> int:
    key, tie = KEYS[stream]
    auth = ("api", os.environ["PERSONYZE_API_KEY"])
    rows = 0
    upper = f"&{key}%3C={int(bounds[1])}" if bounds else ""
    began = time.time()
    with httpx.Client(base_url=base_url + "/", auth=auth) as client, open(out_path, "w") as out:

        def get(path: str) -> list[dict[str, object]]:
            answer: list[dict[str, object]] = client.get(path).json()
            return answer

        low = int(bounds[0]) if bounds else 0
        while True:
            page = get(f"{stream}/where/{key}%3E={low}{upper}/order_by/{key}/limit/0,{PAGE}")
            done = len(page) < PAGE
            if done:
                batch = page
            elif page[0][key] != page[-1][key]:
                last = page[-1][key]
                batch = [row for row in page if row[key] != last]
                low = last  # type: ignore[assignment]
            else:
                value = page[0][key]
                batch = get(f"{stream}/where/{key}={value}/order_by/{tie}/limit/0,{GROUP}")
                more = batch
                while len(more) == (GROUP if more is batch else PAGE):
                    after = more[-1][tie]
                    more = get(
                        f"{stream}/where/{key}={value}&{tie}%3E{after}"
                        f"/order_by/{tie}/limit/0,{PAGE}"
                    )
                    batch = batch + more
                low = int(value) + 1  # type: ignore[call-overload]
            for row in batch:
                out.write(json.dumps(row) + "\n")
            rows += len(batch)
            if done:
                break
    if bounds:
        print(rows, began, time.time())
    else:
        print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
