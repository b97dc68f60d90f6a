"""Settings come from the providers' registry: sections, keys, live and test credentials, typos refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from refunder.config import Settings
from refunder.detection import Mode
from refunder.errors import ConfigurationError
from refunder.providers import build_providers, registry, sections, specs
from refunder.providers.modes import ModeSwitch

SECRET = "test-secret-0123456789-abcdefghijklmnop"
VIPPS = {"CLIENT_ID": "cid", "CLIENT_SECRET": "cs", "SUBSCRIPTION_KEY": "sk", "MSN": "123456"}


def env(**extra: str) -> dict[str, str]:
    return {"REFUNDER_SHARED_SECRET": SECRET, **extra}


def clock() -> datetime:
    return datetime(2026, 11, 22, tzinfo=UTC)


def test_sections_and_keys_come_from_the_registered_providers() -> None:
    found = sections()
    assert {"vipps", "vipps_test", "stripe", "stripe_test", "stripe_connect", "stripe_connect_test", "mollie",
            "mollie_test", "simulator"} == set(found)
    assert "environment" not in found["vipps"]  # set from the section, not by the user
    assert list(found) == sorted(found, key=len, reverse=True)  # longest first: stripe_connect_test before stripe
    assert set(specs()) >= {"manual", "simulator", "vipps", "vipps_ecom", "vipps_recurring", "stripe",
                            "stripe_connect", "mollie"}


def test_live_and_test_credentials_side_by_side() -> None:
    settings = Settings.load(env(REFUNDER_PROVIDERS="vipps,stripe,stripe_connect,mollie",
                                 **{f"REFUNDER_VIPPS_{k}": v for k, v in VIPPS.items()},
                                 **{f"REFUNDER_VIPPS_TEST_{k}": v + "t" for k, v in VIPPS.items()},
                                 REFUNDER_STRIPE_API_KEY="sk_live_1", REFUNDER_STRIPE_TEST_API_KEY="sk_test_1",
                                 REFUNDER_STRIPE_CONNECT_TEST_API_KEY="rk_test_2",
                                 REFUNDER_MOLLIE_TEST_API_KEY="test_abc"))
    assert settings.section("vipps")["msn"] == "123456" and settings.section("vipps_test")["msn"] == "123456t"
    assert settings.section("stripe_connect_test") == {"api_key": "rk_test_2"}
    built = build_providers(settings, clock)
    vipps = built["vipps"]
    assert isinstance(vipps, ModeSwitch) and set(vipps.by_mode) == {Mode.LIVE, Mode.TEST}
    assert vipps.for_mode(Mode.LIVE).settings.url == "https://api.vipps.no"  # type: ignore[attr-defined]
    assert vipps.for_mode(Mode.TEST).settings.url == "https://apitest.vipps.no"  # type: ignore[attr-defined]
    assert set(built["mollie"].by_mode) == {Mode.TEST}  # type: ignore[attr-defined]


@pytest.mark.parametrize("variable,named", [
    ("REFUNDER_PAYPAL_API_KEY", "REFUNDER_PAYPAL_API_KEY"),  # a section no provider has
    ("REFUNDER_VIPPS_CLIENTID", "REFUNDER_VIPPS_CLIENTID"),  # a typo in a key
    ("REFUNDER_STRIPE_TEST_APIKEY", "REFUNDER_STRIPE_TEST_APIKEY"),
    ("REFUNDER_VIPPS_ENVIRONMENT", "REFUNDER_VIPPS_ENVIRONMENT"),  # the section says it now
    ("REFUNDER_DATABASE", "REFUNDER_DATABASE"),
])
def test_unknown_settings_stop_startup_naming_them(variable: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        Settings.load(env(**{variable: "x"}))


def test_unknown_section_in_the_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "refunder.toml"
    config.write_text('[vipps_tets]\nmsn = "1"\n')
    with pytest.raises(ConfigurationError, match="vipps_tets"):
        Settings.load(env(REFUNDER_CONFIG=str(config)))
    config.write_text('[mollie_test]\napi_kee = "test_1"\n')
    with pytest.raises(ConfigurationError, match=r"\[mollie_test\] api_kee"):
        Settings.load(env(REFUNDER_CONFIG=str(config)))


def test_names_that_are_not_sidecar_settings_are_left_alone() -> None:
    settings = Settings.load(env(REFUNDER_TEST_POSTGRES_URL="postgresql://x", REFUNDER_VIPPS_SPECS="/specs",
                                 REFUNDER_DEMO_DIR="var/x", REFUNDER_SIDECAR_URL="http://x",
                                 REFUNDER_SHARED_WORDPRESS="/shared", REFUNDER_WP_DIR="/site"))
    assert settings.sections == {}


@pytest.mark.parametrize("variables,message", [
    ({"REFUNDER_STRIPE_API_KEY": "sk_test_1"}, "REFUNDER_STRIPE_API_KEY must be a live key"),
    ({"REFUNDER_STRIPE_TEST_API_KEY": "sk_live_1"}, "REFUNDER_STRIPE_TEST_API_KEY must be a test key"),
    ({"REFUNDER_MOLLIE_API_KEY": "test_1"}, "REFUNDER_MOLLIE_API_KEY must be a live key"),
    ({"REFUNDER_MOLLIE_TEST_API_KEY": "live_1"}, "REFUNDER_MOLLIE_TEST_API_KEY must be a test key"),
    ({}, r"set its live credentials \(REFUNDER_STRIPE_\*\), its test credentials \(REFUNDER_STRIPE_TEST_\*\)"),
    ({"REFUNDER_VIPPS_TEST_MSN": "1"}, "REFUNDER_VIPPS_TEST_CLIENT_ID"),
])
def test_credentials_must_fit_their_mode(variables: dict[str, str], message: str) -> None:
    names = {k.split("_")[1].lower() for k in variables} or {"stripe"}
    settings = Settings.load(env(REFUNDER_PROVIDERS=",".join(sorted(names)), **variables))
    with pytest.raises(ConfigurationError, match=message):
        build_providers(settings, clock)


def test_a_provider_recognised_but_not_refundable_cannot_be_enabled() -> None:
    with pytest.raises(ConfigurationError, match="cannot refund through it"):
        build_providers(Settings.load(env(REFUNDER_PROVIDERS="vipps_recurring")), clock)


def test_a_new_provider_is_one_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering a spec is all it takes: settings sections, REFUNDER_PROVIDERS and detection follow."""
    from dataclasses import dataclass

    from refunder.detection import Detection, OrderFacts
    from refunder.providers import detect
    from refunder.providers.manual import ManualProvider

    @dataclass(frozen=True)
    class PaySettings:
        token: str

    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    registry.register(registry.ProviderSpec(
        name="paynow", label="PayNow", settings=PaySettings, modes=True,
        build=lambda settings, mode, clock: ManualProvider(),
        detect=lambda facts: Detection("paynow", facts.transaction_id) if facts.gateway == "paynow" else None))
    settings = Settings.load(env(REFUNDER_PROVIDERS="paynow", REFUNDER_PAYNOW_TEST_TOKEN="t"))
    assert set(build_providers(settings, clock)["paynow"].by_mode) == {Mode.TEST}  # type: ignore[attr-defined]
    assert detect(OrderFacts("1", "paynow", transaction_id="pn_1")).provider == "paynow"
    with pytest.raises(ConfigurationError, match="REFUNDER_PAYNOW_TOKN"):
        Settings.load(env(REFUNDER_PAYNOW_TOKN="t"))


def test_the_provider_budget_and_bulk_in_flight() -> None:
    default = Settings.load(env())
    assert default.provider_budget == 15.0 and default.bulk_in_flight == 32
    chosen = Settings.load(env(REFUNDER_PROVIDER_BUDGET="8.5", REFUNDER_BULK_IN_FLIGHT="12"))
    assert chosen.provider_budget == 8.5 and chosen.bulk_in_flight == 12
    with pytest.raises(ConfigurationError, match="REFUNDER_PROVIDER_BUDGET must be 1 to 50 seconds"):
        Settings.load(env(REFUNDER_PROVIDER_BUDGET="90"))
    with pytest.raises(ConfigurationError, match="REFUNDER_BULK_IN_FLIGHT"):
        Settings.load(env(REFUNDER_BULK_IN_FLIGHT="0"))
