"""Fixtures for the pure flow tests: the shipped content, loaded once."""

from __future__ import annotations

import pytest

from bot.flows.engine import FlowRunner
from bot.releases.load import Content, load_content
from bot.settings import DEFAULT_CONTENT_DIR

from .helpers import intake_runner


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(DEFAULT_CONTENT_DIR)


@pytest.fixture(scope="session")
def runner(content: Content) -> FlowRunner:
    return intake_runner(content)
