"""The home page: what CareLaunch is; in the demo, how to try each flow, with the seeded sign-ins."""

import json

import pytest


@pytest.fixture
def seeded_logins(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    data = {
        "carelaunch": [
            {"role": "hospital-it", "username": "demo-it", "password": "it-pass-123"},
            {"role": "staff", "username": "demo-staff", "password": "staff-pass-456"},
        ],
        "sandbox": [{"role": "patient", "username": "p-001", "password": "pat-789", "name": "劉宗翰 / Tsung-Han Liu"}],
        "tenant": "demo",
    }
    (tmp_path / "demo_logins.json").write_text(json.dumps(data, ensure_ascii=False))
    return data


@pytest.mark.django_db
def test_demo_guide_lists_flows_and_logins(client, settings, seeded_logins):
    settings.DEBUG = True
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for expected in ("Try the demo", "/sandbox/ehr/", "/launch/patient/", "/t/demo/launch/provider", "/console/"):
        assert expected in body
    for row in seeded_logins["carelaunch"] + seeded_logins["sandbox"]:
        assert row["username"] in body and row["password"] in body


@pytest.mark.django_db
def test_demo_guide_in_traditional_chinese(client, settings, seeded_logins):
    settings.DEBUG = True
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()
    assert "試用示範" in body
    assert "病人：選擇您的醫院" in body


@pytest.mark.django_db
def test_no_logins_shown_outside_the_demo(client, settings, seeded_logins):
    settings.DEBUG = False
    settings.SANDBOX_SHOW_LOGINS = False
    body = client.get("/").content.decode()
    assert "staff-pass-456" not in body
    assert "Try the demo" not in body
