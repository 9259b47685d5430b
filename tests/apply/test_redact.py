"""Secrets out of everything batchspec prints."""

from __future__ import annotations

import logging

import pytest

from batchspec.apply.redact import (
    REDACTED,
    Scrubber,
    ScrubbingFilter,
    collect_secrets,
    is_secret_name,
    redact,
)

ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
BODY = {
    "startTask": {
        "commandLine": "setup",
        "environmentSettings": [
            {"name": "MODE", "value": "fast"},
            {"name": "DB_PASSWORD", "value": "pa55word!"},
            {
                "name": "AZURE_STORAGE_CONNECTION_STRING",
                "value": f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={ACCOUNT_KEY};",
            },
        ],
        "resourceFiles": [
            {"httpUrl": "https://a.blob.core.windows.net/c/f?sv=2024&sp=r&sig=AbCd%2Bsig123", "filePath": "f"}
        ],
    },
    "userAccounts": [{"name": "admin", "password": "hunter2!!"}],
    "mountConfiguration": [
        {"azureBlobFileSystemConfiguration": {"accountName": "a", "accountKey": "k3y-value"}}
    ],
}


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "api_key",
        "STORAGE_KEY",
        "SAS_TOKEN",
        "client_secret",
        "AZURE_STORAGE_CONNECTION_STRING",
        "MyCredential",
        "GITHUB_TOKEN",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["MODE", "INPUT_DIR", "keyboard_layout", "monkey", "OUTPUT"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_masks_every_kind_of_secret() -> None:
    text = repr(redact(BODY))
    for secret in ("pa55word!", ACCOUNT_KEY, "AbCd%2Bsig123", "hunter2!!", "k3y-value"):
        assert secret not in text
    assert "fast" in text and "sv=2024" in text
    assert text.count(REDACTED) == 5


def test_collected_secrets_are_scrubbed_from_any_text() -> None:
    scrub = Scrubber(collect_secrets(BODY))
    message = f"InvalidPropertyValue: value pa55word! for DB_PASSWORD; key {ACCOUNT_KEY}; sig AbCd%2Bsig123 k3y-value"
    cleaned = scrub(message)
    for secret in ("pa55word!", ACCOUNT_KEY, "AbCd%2Bsig123", "k3y-value"):
        assert secret not in cleaned


def test_patterns_are_scrubbed_without_knowing_the_secret() -> None:
    scrub = Scrubber()
    text = scrub(
        "GET https://x/c?sv=1&sig=abcdef123 Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi AccountKey=zzz;"
    )
    assert "abcdef123" not in text and "eyJ0eXAiOiJKV1Qi" not in text and "zzz" not in text


def test_logging_filter_scrubs_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("batchspec.test.redact")
    handler_filter = ScrubbingFilter(Scrubber({"pa55word!"}))
    logger.addFilter(handler_filter)
    with caplog.at_level(logging.INFO, logger="batchspec.test.redact"):
        logger.info("sending %s", "pa55word!")
    logger.removeFilter(handler_filter)
    assert "pa55word!" not in caplog.text and REDACTED in caplog.text
