"""Checks run the way the scheduler runs them on a workbook file, with a WeCom group bot to tell."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sheetsync.app import run_jobs
from sheetsync.config import Config
from helpers_bots import BotServer

CHECKS = ["validate", "reconcile-stock"]


def wecom(bots: BotServer) -> dict:
    return {"wecom": {"webhook": bots.url("wecom")}}


def config_for(path: Path, delivery: dict) -> Config:
    return Config(workbook=path, delivery=delivery, state_dir=path.parent / "state")


def check(config: Config, now: datetime):
    return run_jobs(config, CHECKS, now=now)
