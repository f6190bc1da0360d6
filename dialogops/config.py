"""Finding and loading the project config `dialogops.yaml` into a `Config` record.

The file is found by walking up from the working directory (or given with --config); its
folder is the project root. No file means every default, with the working directory as root.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogops import schemas
from dialogops.datafiles import DataFileError, existing_file, resolve_inside
from dialogops.errors import Location, ManifestError, Problem, Rule, UsageError
from dialogops.specs import (
    CallingHours,
    Config,
    ConfigMarks,
    Exclude,
    Frequency,
    HoursWindow,
    LocalHours,
    Marks,
    Policy,
)
from dialogops.variables import as_text
from dialogops.yamlio import Document, FieldPath, display_path, format_field, load_file

CONFIG_NAME = "dialogops.yaml"
API_URL_ENV = "DIALOG_API_URL"


def find_config(cwd: Path) -> Path | None:
    """The first dialogops.yaml in `cwd` or one of its parents.

    Whatever the name is taken by (a FIFO, a folder) is the config, so that reading it
    says what is wrong instead of a config further up being used unannounced.
    """
    start = cwd.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.exists():
            return candidate
    return None


def load_config(explicit: Path | None, cwd: Path, environment: str | None = None) -> Config:
    """Load `explicit`, else the first dialogops.yaml walking up from `cwd`, else defaults.

    `environment` names an entry of its `environments`, merged over the top level.
    """
    if explicit is not None:
        path = (cwd / explicit).resolve()
        if not path.exists():
            raise UsageError(f"config file {explicit} does not exist")
    else:
        found = find_config(cwd)
        if found is None:
            if environment is not None:
                raise UsageError(
                    f"environment {environment!r}: there is no {CONFIG_NAME} to define it in"
                )
            root = cwd.resolve()
            return _with_env(
                Config(
                    root=root,
                    path=None,
                    state_path=root / "dialogops.state.json",
                    manifests=(root / "campaigns",),
                )
            )
        path = found
    doc, problems = _read(path)
    if problems:
        raise ManifestError(problems)
    return _with_env(_build(doc, path, environment))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, merging nested mappings; lists and scalars replace."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def merge_defaults(
    defaults: Mapping[str, Any], spec: Mapping[str, Any], at: FieldPath = ()
) -> tuple[dict[str, Any], dict[FieldPath, int]]:
    """A Campaign `spec` over the config's `defaults`: mappings merge, lists join (the
    defaults' items first: a campaign's `exclude` adds to a do-not-call list set in
    defaults), scalars replace. Also returns, for each joined list, how many of its items
    came from the defaults, so that the manifest's marks can be moved past them.
    """
    merged = dict(defaults)
    joined: dict[FieldPath, int] = {}
    for key, value in spec.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key], inner = merge_defaults(below, value, (*at, key))
            joined.update(inner)
        elif isinstance(value, list) and isinstance(below, list):
            merged[key] = [*below, *value]
            joined[(*at, key)] = len(below)
        else:
            merged[key] = value
    return merged, joined


def parse_hhmm(text: str) -> dt.time:
    """`"09:00"` -> time(9, 0); the schema has already checked the shape."""
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def parse_window(text: str) -> HoursWindow:
    """`"08:00-22:00"` -> its HoursWindow; the schema has already checked the shape."""
    start, end = text.split("-")
    return HoursWindow(parse_hhmm(start), parse_hhmm(end))


def _read(path: Path) -> tuple[Document | None, list[Problem]]:
    display = display_path(path)
    docs, problems = load_file(path, display)
    if len(docs) > 1:
        message = f"{CONFIG_NAME} must hold one YAML document"
        problems.append(Problem(docs[1].location, "", message, Rule.DOCUMENT))
    doc = docs[0] if docs else None
    if doc is None or doc.data is None:
        return None, problems
    if not isinstance(doc.data, dict):
        message = f"{CONFIG_NAME} must be a mapping of settings"
        problems.append(Problem(doc.location, "", message, Rule.DOCUMENT))
        return doc, problems
    problems.extend(schemas.check("config", doc.data, doc.at, doc.key_at))
    if not problems:
        problems.extend(_semantic_problems(doc))
    return doc, problems


def _semantic_problems(doc: Document) -> list[Problem]:
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    timezone = data.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown timezone {timezone!r} (use an IANA name such as Europe/Moscow)"
            problems.append(Problem(doc.at(("timezone",)), "timezone", message, Rule.CONFIG))
    problems.extend(_manifests_outside(doc))
    policies: list[tuple[FieldPath, Any]] = [((), data.get("policy", {}))]
    for name, environment in data.get("environments", {}).items():
        policies.append((("environments", name), environment.get("policy", {})))
    for base, policy in policies:
        problems.extend(_suppress_problems(doc, base, policy))
        hours = policy.get("calling_hours")
        if hours and parse_hhmm(hours["earliest"]) >= parse_hhmm(hours["latest"]):
            where = (*base, "policy", "calling_hours", "latest")
            problems.append(
                Problem(
                    doc.at(where),
                    format_field(where),
                    f"{hours['latest']} must be after earliest {hours['earliest']}",
                    Rule.TIME_ORDER,
                )
            )
        problems.extend(_policy_problems(doc, base, policy))
    return problems


def _policy_problems(doc: Document, base: FieldPath, policy: dict[str, Any]) -> list[Problem]:
    """Local-hour windows that end before they start, a numbering plan that is no file."""
    problems = []
    for key, window in policy.get("local_hours", {}).items():
        if key in ("weekdays", "weekends"):
            hours = parse_window(window)
            if hours.end <= hours.start:
                where = (*base, "policy", "local_hours", key)
                message = f"{window}: the window must end after it starts"
                problem = Problem(doc.at(where), format_field(where), message, Rule.TIME_ORDER)
                problems.append(problem)
    plan = policy.get("numbering_plan")
    if plan is not None:
        try:
            existing_file(doc.path.parent, doc.path.parent, plan)
        except DataFileError as exc:
            where = (*base, "policy", "numbering_plan")
            problems.append(
                Problem(doc.at(where), format_field(where), exc.problem.message, Rule.DATA_FILE)
            )
    return problems


def _suppress_problems(doc: Document, base: FieldPath, policy: dict[str, Any]) -> list[Problem]:
    """`policy.suppress` files: inside the project, existing, regular."""
    problems = []
    for index, written in enumerate(policy.get("suppress", ())):
        at = (*base, "policy", "suppress", index)
        try:
            existing_file(doc.path.parent, doc.path.parent, written)
        except DataFileError as exc:
            message = exc.problem.message
            problems.append(Problem(doc.at(at), format_field(at), message, Rule.DATA_FILE))
    return problems


def _suppress(
    doc: Document | None, written: list[str], environment: str | None
) -> tuple[Exclude, ...]:
    """The suppression files, each with where it is written (the environment's list, if any)."""
    if doc is None:
        return ()
    base: FieldPath = ()
    if environment is not None and "suppress" in doc.data["environments"][environment].get(
        "policy", {}
    ):
        base = ("environments", environment)
    root = doc.path.parent
    return tuple(
        Exclude(resolve_inside(root, root, path), doc.at((*base, "policy", "suppress", index)))
        for index, path in enumerate(written)
    )


def _manifests_outside(doc: Document) -> list[Problem]:
    """`manifests` entries that leave the project root, as data files may not either: a
    manifest there could name none of its data, and a search of / or /proc is no project's."""
    written = doc.data.get("manifests")
    entries: list[tuple[FieldPath, str]] = (
        [(("manifests",), written)]
        if isinstance(written, str)
        else [(("manifests", i), entry) for i, entry in enumerate(written or ())]
    )
    problems: list[Problem] = []
    root = doc.path.parent
    for at, entry in entries:
        try:
            resolve_inside(root, root, entry, absolute_ok=True)
        except DataFileError as exc:
            problems.append(Problem(doc.at(at), format_field(at), exc.problem.message, Rule.CONFIG))
    return problems


def _build(doc: Document | None, path: Path, environment: str | None) -> Config:
    root = path.parent
    written: dict[str, Any] = doc.data if doc is not None else {}
    environments: dict[str, Any] = written.get("environments", {})
    data = {key: value for key, value in written.items() if key != "environments"}
    if environment is not None:
        if environment not in environments:
            known = ", ".join(sorted(environments)) or "none"
            raise UsageError(
                f"environment {environment!r} is not in {display_path(path)} "
                f"(environments: {known}){schemas.did_you_mean(environment, environments)}"
            )
        data = deep_merge(data, environments[environment])
    api = data.get("api", {})
    state = data.get("state", {})
    policy = data.get("policy", {})
    hours = policy.get("calling_hours")
    manifests = data.get("manifests", ["campaigns"])
    if isinstance(manifests, str):
        manifests = [manifests]
    defaults = Config(root=root, path=path)
    return Config(
        root=root,
        path=path,
        api_url=api.get("url", defaults.api_url),
        timeout_seconds=float(api.get("timeout_seconds", defaults.timeout_seconds)),
        retry_503=api.get("retry_503", defaults.retry_503),
        login_format=api.get("login_format", defaults.login_format),
        state_backend=state.get("backend", defaults.state_backend),
        state_path=root / state.get("path", "dialogops.state.json"),
        state_dsn_env=state.get("dsn_env", defaults.state_dsn_env),
        state_workspace=state.get("workspace", defaults.state_workspace),
        state_schema=state.get("schema", defaults.state_schema),
        timezone=data.get("timezone", defaults.timezone),
        defaults=data.get("defaults", {}),
        policy=Policy(
            calling_hours=CallingHours(parse_hhmm(hours["earliest"]), parse_hhmm(hours["latest"]))
            if hours
            else None,
            max_phones_per_campaign=policy.get("max_phones_per_campaign"),
            **_local_hours(policy, root, doc, environment),
            frequency=Frequency(**policy.get("frequency", {})),
            suppress=_suppress(doc, policy.get("suppress", []), environment),
        ),
        manifests=tuple(root / m for m in manifests),
        marks=_marks(doc, path, environment),
        environment=environment,
        vars={name: as_text(value) for name, value in data.get("vars", {}).items()},
    )


def _local_hours(
    policy: dict[str, Any], root: Path, doc: Document | None, environment: str | None
) -> dict[str, Any]:
    """The Policy fields of local calling hours."""
    fields: dict[str, Any] = {"unknown_timezone": policy.get("unknown_timezone")}
    hours = policy.get("local_hours")
    if hours is not None:
        fields["local_hours"] = LocalHours(
            parse_window(hours["weekdays"]),
            parse_window(hours["weekends"]),
            hours.get("country", "RU"),
        )
    plan = policy.get("numbering_plan")
    if plan is not None:
        fields["numbering_plan"] = resolve_inside(root, root, plan)
        at: FieldPath = ("policy", "numbering_plan")
        if environment is not None and doc is not None:
            chosen = doc.data["environments"][environment].get("policy", {})
            if "numbering_plan" in chosen:
                at = ("environments", environment, *at)
        fields["numbering_plan_location"] = None if doc is None else doc.at(at)
    return fields


def _marks(doc: Document | None, path: Path, environment: str | None) -> ConfigMarks:
    """Where the settings manifest checks may report on are written."""
    if doc is None:
        return ConfigMarks(Location(display_path(path), 1, 1))
    written = doc.data.get("manifests")
    if isinstance(written, list):
        manifests = tuple(
            (f"manifests[{i}]", doc.at(("manifests", i))) for i in range(len(written))
        )
    elif written is not None:
        manifests = (("manifests", doc.at(("manifests",))),)
    else:
        manifests = ()

    # The chosen environment's defaults are merged over the top level's: so are their marks.
    bases: list[FieldPath] = [("defaults",)]
    if environment is not None:
        bases.append(("environments", environment, "defaults"))

    def under_defaults(marks: Marks) -> dict[FieldPath, Location]:
        found: dict[FieldPath, Location] = {}
        for base in bases:
            size = len(base)
            found.update((at[size:], loc) for at, loc in marks.items() if at[:size] == base)
        return {at: loc for at, loc in found.items() if at}

    return ConfigMarks(
        doc.location, manifests, under_defaults(doc.marks), under_defaults(doc.key_marks)
    )


def _with_env(config: Config) -> Config:
    url = os.environ.get(API_URL_ENV)
    if not url:
        return config
    return dataclasses.replace(config, api_url=url)
