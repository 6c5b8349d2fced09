"""Running the service: `run`, `web`, `worker`, `db upgrade`, and `explain`."""

from __future__ import annotations

import asyncio

import click

from bot.cli.common import reachable_url, settings_from_env


@click.command()
def run() -> None:
    """Web server and worker in one process (the embedded default)."""
    from bot.serve import serve

    serve(settings_from_env(), web=True, worker=True)


@click.command()
def web() -> None:
    """Only the web server (webhooks, health)."""
    from bot.serve import serve

    serve(settings_from_env(), web=True, worker=False)


@click.command()
def worker() -> None:
    """Only the planner and dispatcher."""
    from bot.serve import serve

    serve(settings_from_env(), web=False, worker=True)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (run by `make run` and the Procfile's release)."""
    from scheduler.store.migrate import upgrade

    url = settings_from_env().database_url
    asyncio.run(reachable_url(url))
    upgrade(url, revision)
    click.echo("database is up to date")


@click.command()
@click.argument("text")
def explain(text: str) -> None:
    """How lenabot reads TEXT: its clauses, each clause's readings (topics, scores, what a
    negation denied) and what the whole text comes to. Needs no database."""
    from messages.understand import explain as laid_out

    click.echo(laid_out(text))



COMMANDS = [run, web, worker, db, explain]
