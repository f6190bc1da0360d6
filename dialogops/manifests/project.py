"""One validation run over every manifest: find the files, load their documents, send each
to the checks of its kind, keep names unique, and return the Project with every problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from dialogops import schemas
from dialogops.errors import ManifestError, Problem, Rule
from dialogops.manifests.campaigns import check_campaign
from dialogops.manifests.discovery import discover, missing_manifest_folders
from dialogops.manifests.reports import check_report, cross_check
from dialogops.manifests.run import Run
from dialogops.specs import Config, Project
from dialogops.yamlio import Document, display_path, load_file

API_VERSION = "dialogops/v1"
KINDS = ("Campaign", "Report")


def today_in(timezone: str) -> dt.date:
    """Today on the platform's wall clock."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


def check_project(
    paths: Sequence[Path],
    config: Config,
    today: dt.date | None = None,
    *,
    defer_data_files: bool = False,
) -> tuple[Project, list[Problem]]:
    """Load every manifest under `paths`; return the valid records and every problem.

    With `defer_data_files`, phone files are only found here: the render, which reads them
    anyway, checks them as validation would (`specs.FileChecks`), so each is read once.
    """
    run = Run(config, today or today_in(config.timezone), defer_data_files=defer_data_files)
    if not paths:
        run.problems.extend(missing_manifest_folders(config))
    for path in discover(paths, config):
        _file(run, path)
    cross_check(run)
    project = Project(config, tuple(run.campaigns), tuple(run.reports))
    return project, sorted(set(run.problems))


def check_files(
    paths: Sequence[Path], config: Config, today: dt.date | None = None
) -> tuple[Project, list[Problem]]:
    """The records and problems of the manifests under `paths` alone, checked within the
    whole project.

    The config's manifests are loaded first, so that a Report under `paths` may name a
    Campaign written elsewhere and a name taken elsewhere is a duplicate here; what is
    wrong in those other files is not reported.
    """
    run = Run(config, today or today_in(config.timezone))
    given = discover(paths, config)
    for path in discover([], config):
        if path not in given:
            _file(run, path)
    run.forget_findings()
    for path in given:
        _file(run, path)
    cross_check(run)
    project = Project(config, tuple(run.campaigns), tuple(run.reports))
    return project, sorted(set(run.problems))


def load_project(
    paths: Sequence[Path], config: Config, *, defer_data_files: bool = False
) -> Project:
    """The Project, or `ManifestError` carrying every error found (warnings pass);
    `defer_data_files` as for `check_project`."""
    project, problems = check_project(paths, config, defer_data_files=defer_data_files)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ManifestError(errors)
    return project


def _file(run: Run, path: Path) -> None:
    docs, problems = load_file(path, display_path(path))
    run.problems.extend(problems)
    for doc in docs:
        _document(run, doc)


def _document(run: Run, doc: Document) -> None:
    """Check one document: its apiVersion and kind, then the checks of its kind."""
    data = doc.data
    if data is None:
        return
    if not isinstance(data, dict):
        run.problem(
            doc.location,
            (),
            "a manifest must be a mapping with apiVersion, kind, metadata and spec",
            Rule.DOCUMENT,
        )
        return
    api = data.get("apiVersion")
    if api != API_VERSION:
        if api is None:
            run.problem(doc.location, (), "'apiVersion' is a required property", Rule.DOCUMENT)
        else:
            run.problem(
                doc.at(("apiVersion",)),
                ("apiVersion",),
                f"{api!r} is not supported: use {API_VERSION!r}",
                Rule.DOCUMENT,
            )
        return
    kind = data.get("kind")
    if kind not in KINDS:
        if kind is None:
            run.problem(doc.location, (), "'kind' is a required property", Rule.DOCUMENT)
        else:
            hint = schemas.did_you_mean(str(kind), KINDS)
            run.problem(
                doc.at(("kind",)),
                ("kind",),
                f"unknown kind {kind!r}: use 'Campaign' or 'Report'{hint}",
                Rule.DOCUMENT,
            )
        return
    # A duplicate is still checked in full, but only the first of a name is kept.
    unique = _register_name(run, doc, kind)
    if kind == "Campaign":
        check_campaign(run, doc, unique)
    else:
        check_report(run, doc, unique)


def _register_name(run: Run, doc: Document, kind: str) -> bool:
    """Record metadata.name; False when another document of this kind already has it."""
    metadata = doc.data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        return True
    where = doc.at(("metadata", "name"))
    first = run.names.setdefault((kind, name), where)
    if first == where:
        return True
    message = f"{kind} name {name!r} is already used at {first}"
    run.problem(where, ("metadata", "name"), message, Rule.DUPLICATE_NAME)
    return False
