"""An event whose answer was lost and that cannot be read back is of unknown outcome, not
rejected: its log line says so (with stream, key and why), and the summary counts it apart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from personyze_sandbox.process import RunningSandbox
from tests.integration.write.runs import Records
from tests.integration.write.test_lost_row_answers import LoseAnswers, run
from tests.readback import rejects

pytestmark = pytest.mark.integration


def test_events_of_unknown_outcome_are_logged_as_such(
    sandbox: RunningSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emails = [f"unknownlog{i}@example.com" for i in range(3)]
    records: Records = {
        "articles_interactions": [
            {"email": e, "article_internal_id": "article-0001", "status": "viewed"} for e in emails
        ]
    }
    transport = LoseAnswers("do", 1, applied=True)  # the one `do` request with the events
    with caplog.at_level(logging.WARNING, logger="connectors.write.rejects"):
        summary = run(sandbox, {}, records, transport, tmp_path)

    counts = summary.streams["articles_interactions"]
    assert (counts.unknown, counts.rejected) == (3, 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "connectors.write.rejects"]
    assert not [ln for ln in lines if ln.startswith("Rejected:")], lines
    unknown = [ln for ln in lines if ln.startswith("Outcome unknown:")]
    assert len(unknown) == 3, lines
    for email, line in zip(sorted(emails), sorted(unknown), strict=True):
        assert f"stream 'articles_interactions', key '{email}'" in line
        assert "the answer to its request was lost and it cannot be read back" in line
    assert len(rejects(tmp_path)) == 3  # still each in the rejects file, to check by hand
