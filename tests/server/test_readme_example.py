"""The README's pytest example, run verbatim as a user's test file: the README cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_fixture_example_passes(pytester: pytest.Pytester) -> None:
    section = README.read_text(encoding="utf-8").split("## From your own tests", 1)[1]
    match = re.search(r"```python\n(import httpx.*?)```", section, re.S)
    assert match, "the README lost its fixture example"
    example = match.group(1)
    assert example.count("musicapi_mock") <= 10  # "under ten lines of fixture use"
    pytester.makepyfile(test_user=example)
    # -W error: the example closes what it opens (an unclosed client would warn, and fail it)
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "error").assert_outcomes(passed=1)


def test_readme_verification_example_passes(pytester: pytest.Pytester) -> None:
    section = README.read_text(encoding="utf-8").split("## From your own tests", 1)[1]
    match = re.search(r"```python\n(import json\n\nimport httpx.*?)```", section, re.S)
    assert match, "the README lost its verification example"
    pytester.makepyfile(test_user=match.group(1))
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "error").assert_outcomes(passed=1)
