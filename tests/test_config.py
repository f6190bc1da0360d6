"""config: finding dialogops.yaml, defaults, and every problem placed on its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dialogops.config import load_config
from dialogops.errors import Location, ManifestError, UsageError
from dialogops.specs import CallingHours


def test_no_config_means_defaults_rooted_at_cwd(tmp_path: Path) -> None:
    config = load_config(None, tmp_path)
    assert config.path is None
    assert config.root == tmp_path.resolve()
    assert config.state_path == tmp_path.resolve() / "dialogops.state.json"
    assert config.manifests == (tmp_path.resolve() / "campaigns",)
    assert config.timezone == "Europe/Moscow"
    assert config.api_url == "https://ai-assistant.is74.ru/api"


def test_found_by_walking_up_and_paths_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "dialogops.yaml").write_text(
        "api: {url: 'http://127.0.0.1:9/api', timeout_seconds: 5}\n"
        "state: {path: state/s.json}\n"
        "timezone: Asia/Yekaterinburg\n"
        "defaults: {project_id: 1, schedule: {attempts: 2}}\n"
        "policy:\n"
        "  calling_hours: {earliest: 09:00, latest: '21:00'}\n"
        "  max_phones_per_campaign: 10\n"
        "manifests: manifests/\n"
    )
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(None, deep)
    root = tmp_path.resolve()
    assert config.root == root
    assert config.path == root / "dialogops.yaml"
    assert config.api_url == "http://127.0.0.1:9/api"
    assert config.timeout_seconds == 5.0
    assert config.state_path == root / "state" / "s.json"
    assert config.timezone == "Asia/Yekaterinburg"
    assert config.defaults == {"project_id": 1, "schedule": {"attempts": 2}}
    assert config.policy.calling_hours == CallingHours(dt.time(9), dt.time(21))
    assert config.policy.max_phones_per_campaign == 10
    assert config.manifests == (root / "manifests",)


def test_explicit_config_and_env_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "other.yaml").write_text("timezone: UTC\n")
    monkeypatch.setenv("DIALOG_API_URL", "http://127.0.0.1:8080/api")
    config = load_config(Path("other.yaml"), tmp_path)
    assert (config.timezone, config.api_url) == ("UTC", "http://127.0.0.1:8080/api")


def test_missing_explicit_config_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"config file nope\.yaml does not exist"):
        load_config(Path("nope.yaml"), tmp_path)


def test_every_problem_reported_with_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(
        "api:\n  timeout_seconds: 0\nstate:\n  backend: etcd\npolicy:\n  max_phones: 10\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_config(None, tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "dialogops.yaml:2:20: api.timeout_seconds: 0 is less than or equal to the minimum of 0",
        "dialogops.yaml:4:12: state.backend: 'etcd' is not one of 'local', 'postgres'",
        "dialogops.yaml:6:3: policy.max_phones: unknown key 'max_phones' "
        "(did you mean 'max_phones_per_campaign'?)",
    ]


def test_calling_hours_must_be_ordered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(
        "policy:\n  calling_hours: {earliest: '21:00', latest: '09:00'}\n"
    )
    with pytest.raises(
        ManifestError,
        match=r"dialogops.yaml:2:46: policy.calling_hours.latest: "
        r"09:00 must be after earliest 21:00",
    ):
        load_config(None, tmp_path)


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("api: {timeout_seconds: .nan}", "1:24: api.timeout_seconds: .nan is not a finite number"),
        ("api: {timeout_seconds: .inf}", "1:24: api.timeout_seconds: .inf is not a finite number"),
        (
            # float() of this integer raised OverflowError, a crash.
            f"api: {{timeout_seconds: 1{'0' * 399}}}",
            f"1:24: api.timeout_seconds: 1{'0' * 399} is greater than the maximum of 3600",
        ),
        (
            "api: {timeout_seconds: 3600.5}",
            "1:24: api.timeout_seconds: 3600.5 is greater than the maximum of 3600",
        ),
        (
            'state: {path: "s\\0.json"}',
            "1:15: state.path: 's\\x00.json' holds a NUL character, which no path can",
        ),
        (
            'manifests: "campaigns\\0"',
            "1:12: manifests: 'campaigns\\x00' holds a NUL character, which no path can",
        ),
        (
            "manifests: [campaigns, /proc, ../elsewhere]",
            "1:24: manifests[1]: '/proc' resolves outside the project root {root}\n"
            "dialogops.yaml:1:31: manifests[2]: '../elsewhere' resolves outside the project "
            "root {root}",
        ),
    ],
    ids=["nan", "inf", "400-digits", "over-an-hour", "nul-state", "nul-manifests", "outside"],
)
def test_hostile_settings_are_located_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, problem: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(setting + "\n")
    with pytest.raises(ManifestError) as caught:
        load_config(None, tmp_path)
    expected = "dialogops.yaml:" + problem.replace("{root}", str(tmp_path.resolve()))
    assert "\n".join(str(p) for p in caught.value.problems) == expected


def test_manifests_inside_the_root_by_any_path_are_kept(tmp_path: Path) -> None:
    (tmp_path / "dialogops.yaml").write_text(f"manifests: [a/../b, {tmp_path.resolve()}/c]\n")
    root = tmp_path.resolve()
    assert load_config(None, tmp_path).manifests == (root / "a/../b", root / "c")


def test_empty_config_is_all_defaults(tmp_path: Path) -> None:
    (tmp_path / "dialogops.yaml").write_text("# nothing yet\n")
    config = load_config(None, tmp_path)
    assert config.path == tmp_path.resolve() / "dialogops.yaml"
    assert config.defaults == {}


def test_config_must_be_one_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text("- a\n- b\n")
    expected = r"dialogops\.yaml:1:1: dialogops\.yaml must be a mapping"
    with pytest.raises(ManifestError, match=expected):
        load_config(None, tmp_path)


def test_marks_of_what_manifest_checks_report_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(
        "manifests: [campaigns, more]\ndefaults:\n  phone_id: 5\n  schedule: {attempts: 2}\n"
    )
    marks = load_config(None, tmp_path).marks
    assert marks is not None
    where = "dialogops.yaml"
    assert marks.document == Location(where, 1, 1)
    assert marks.manifests == (
        ("manifests[0]", Location(where, 1, 13)),
        ("manifests[1]", Location(where, 1, 24)),
    )
    assert marks.defaults == {
        ("phone_id",): Location(where, 3, 13),
        ("schedule",): Location(where, 4, 13),
        ("schedule", "attempts"): Location(where, 4, 24),
    }
    assert marks.default_keys[("schedule", "attempts")] == Location(where, 4, 14)


def test_no_marks_without_a_config_file(tmp_path: Path) -> None:
    assert load_config(None, tmp_path).marks is None


ENVIRONMENTS = """\
api: {url: 'http://127.0.0.1:9/api'}
state: {path: dialogops.state.json}
defaults: {project_id: 1, phone_id: 5}
vars: {region: north, year: 2099, live: false}
policy: {max_phones_per_campaign: 100}
environments:
  staging:
    api: {url: 'http://127.0.0.1:10/api'}
    state: {path: staging.state.json}
    defaults: {phone_id: 6}
    vars: {region: south}
  prod:
    policy: {max_phones_per_campaign: 5}
"""


def test_an_environment_is_merged_over_the_top_level(tmp_path: Path) -> None:
    (tmp_path / "dialogops.yaml").write_text(ENVIRONMENTS)
    root = tmp_path.resolve()
    top = load_config(None, tmp_path)
    assert (top.environment, top.api_url, top.state_path) == (
        None,
        "http://127.0.0.1:9/api",
        root / "dialogops.state.json",
    )
    assert top.vars == {"region": "north", "year": "2099", "live": "false"}
    staging = load_config(None, tmp_path, "staging")
    assert (staging.environment, staging.api_url, staging.state_path) == (
        "staging",
        "http://127.0.0.1:10/api",
        root / "staging.state.json",
    )
    assert staging.defaults == {"project_id": 1, "phone_id": 6}
    assert staging.vars == {"region": "south", "year": "2099", "live": "false"}
    assert staging.policy.max_phones_per_campaign == 100
    assert load_config(None, tmp_path, "prod").policy.max_phones_per_campaign == 5


def test_an_environment_default_is_placed_where_the_environment_writes_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(ENVIRONMENTS)
    marks = load_config(None, tmp_path, "staging").marks
    assert marks is not None
    assert marks.defaults[("phone_id",)] == Location("dialogops.yaml", 10, 26)
    assert marks.defaults[("project_id",)] == Location("dialogops.yaml", 3, 24)


def test_an_unknown_environment_names_the_known_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(ENVIRONMENTS)
    with pytest.raises(UsageError) as info:
        load_config(None, tmp_path, "stagin")
    assert str(info.value) == (
        "environment 'stagin' is not in dialogops.yaml (environments: prod, staging) "
        "(did you mean 'staging'?)"
    )
    with pytest.raises(UsageError) as info:
        load_config(None, tmp_path_factory.mktemp("bare"), "prod")
    assert str(info.value) == "environment 'prod': there is no dialogops.yaml to define it in"


def test_environment_settings_are_checked_like_the_top_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(
        "environments:\n  Prod!: {}\n  staging:\n    api: {urll: 'http://x'}\n    timezone: UTC\n"
    )
    with pytest.raises(ManifestError) as info:
        load_config(None, tmp_path)
    assert [str(p) for p in info.value.problems] == [
        "dialogops.yaml:2:3: environments: 'Prod!' is not a valid name: use lowercase "
        "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100 "
        "characters",
        "dialogops.yaml:4:11: environments.staging.api.urll: unknown key 'urll' "
        "(did you mean 'url'?)",
        "dialogops.yaml:5:5: environments.staging.timezone: unknown key 'timezone'",
    ]


def test_an_environment_policy_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dialogops.yaml").write_text(
        "environments:\n"
        "  staging:\n"
        "    policy: {calling_hours: {earliest: '21:00', latest: '09:00'}}\n"
    )
    with pytest.raises(ManifestError) as info:
        load_config(None, tmp_path)
    assert [str(p) for p in info.value.problems] == [
        "dialogops.yaml:3:57: environments.staging.policy.calling_hours.latest: "
        "09:00 must be after earliest 21:00"
    ]
