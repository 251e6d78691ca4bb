"""The production backup set-up prints what it would run and refuses the emulators."""

from __future__ import annotations

import pytest

from devstack import production_backups


def test_dry_run_prints_pitr_daily_backups_and_ttl_deploy(capsys, monkeypatch) -> None:
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    assert production_backups.main(["setup", "--project", "pd-prod", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--point-in-time-recovery ENABLED --delete-protection ENABLED" in out
    assert "--recurrence DAILY --retention 14d" in out
    assert "deploy --only firestore:indexes" in out
    assert "locationId" in out and "gs://pd-prod-evidence" in out


def test_the_drill_restores_into_a_new_database(capsys, monkeypatch) -> None:
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    argv = ["drill", "--project", "pd-prod", "--backup", "projects/p/backups/b1", "--dry-run"]
    production_backups.main([*argv, "--target", "drill-x"])
    out = capsys.readouterr().out
    assert "firestore:databases:restore -d drill-x -b projects/p/backups/b1" in out


@pytest.mark.parametrize("project", ["demo-parkingdone", "pd-prod"])
def test_refuses_the_emulator(monkeypatch, project) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080")
    with pytest.raises(SystemExit) as refused:
        production_backups.main(["setup", "--project", project, "--dry-run"])
    assert "refusing" in str(refused.value)


def test_backup_retention_stays_inside_the_deletion_promise(monkeypatch) -> None:
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    with pytest.raises(SystemExit):
        production_backups.main(["setup", "--project", "pd", "--retention", "35d", "--dry-run"])
