"""Tampering with the audit trail behind the app's back, and `tongban audit verify` catching it.

On PostgreSQL the events table refuses UPDATE, DELETE and TRUNCATE; a DBA (superuser) can
switch that off, which is what these tests do to simulate an insider. The HMAC chain, and
its head kept on the case, must then show every edit, deletion, reordering and forgery:
in `verify_chains` and in the real command line, with case number and event sequence.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from tongban.models import AuditEvent, Case
from tongban.services.audit.chain import verify_chains
from tongban.services.core.errors import CaseNotFound
from tongban.services.core.runtime import Runtime
from tongban.workflow.commands import Accept, Forward, MaterialIn, PassFormalReview, VerifyIdentity

from ..world import World, build_world, card_application, diploma_application, fresh_runtime

TONGBAN = Path(sys.executable).parent / "tongban"
BREAK_LINE = re.compile(r"^BREAK (\S+) #(\d+)", re.MULTILINE)


def _target_case(w: World, seq: int) -> str:
    """A case with five events: receive, formal review, identity check, forward, accept (the
    ID card verified through its electronic licence, the originals on paper: no uploads)."""
    app = replace(
        diploma_application(f"{seq:03d}"),
        materials=(
            MaterialIn("id_card", e_licence_verified=True, licence_no=f"DZZZ-{seq:06d}"),
            MaterialIn("diploma"),
            MaterialIn("application_form"),
        ),
    )
    no = w.receive(app, "clerk.cz")
    w.act(PassFormalReview, "clerk.cz", no)
    w.act(VerifyIdentity, "clerk.cz", no, document_number=app.applicant_id_number)
    w.act(Forward, "clerk.cz", no, paper_only=["diploma", "application_form"])
    w.act(Accept, "reviewer.gz", no)
    return no


def _bystander_case(w: World) -> str:
    """An untampered case at another office, with two events."""
    no = w.receive(card_application(), "clerk.gc")
    w.act(PassFormalReview, "clerk.gc", no)
    return no


@dataclass
class Scene:
    w: World
    targets: dict[str, str]  # tampering kind (or "target") -> case number
    bystander: str

    @property
    def rt(self) -> Runtime:
        return self.w.rt

    @property
    def target(self) -> str:
        return self.targets["target"]


def _scene(rt: Runtime, kinds: Sequence[str] = ("target",)) -> Scene:
    w = build_world(rt)
    targets = {kind: _target_case(w, 100 + i) for i, kind in enumerate(kinds)}
    return Scene(w, targets, _bystander_case(w))


@pytest.fixture
def scene(rt: Runtime) -> Scene:
    return _scene(rt)


# --- the insider's tools -----------------------------------------------------------------


@contextmanager
def as_dba(rt: Runtime) -> Iterator[Connection]:
    """A raw connection past the app; on PostgreSQL with the append-only triggers disabled
    (as a superuser could) and re-enabled afterwards to cover the tracks."""
    with rt.engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        yield conn
        if pg:
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def case_id(conn: Connection, case_no: str) -> int:
    return conn.execute(select(Case.id).where(Case.case_no == case_no)).scalar_one()


def event_of(conn: Connection, case_no: str, seq: int) -> Any:
    return conn.execute(
        select(AuditEvent).where(
            AuditEvent.case_id == case_id(conn, case_no), AuditEvent.seq == seq
        )
    ).one()


def edit(conn: Connection, case_no: str, seq: int, /, **values: Any) -> None:
    cid = case_id(conn, case_no)
    done = conn.execute(
        update(AuditEvent).where(AuditEvent.case_id == cid, AuditEvent.seq == seq).values(**values)
    )
    assert done.rowcount == 1


def remove(conn: Connection, case_no: str, seq: int) -> None:
    cid = case_id(conn, case_no)
    done = conn.execute(delete(AuditEvent).where(AuditEvent.case_id == cid, AuditEvent.seq == seq))
    assert done.rowcount == 1


def swap(conn: Connection, case_no: str, a: int, b: int) -> None:
    edit(conn, case_no, a, seq=1000)
    edit(conn, case_no, b, seq=a)
    edit(conn, case_no, 1000, seq=b)


def forge(conn: Connection, case_no: str, *, move_head: bool) -> None:
    """Append an event the insider wrote: plausible fields, a MAC under a guessed key."""
    last = event_of(conn, case_no, 5)
    row = {
        "case_id": last.case_id,
        "seq": 6,
        "at": last.at,
        "actor_id": last.actor_id,
        "actor_name": last.actor_name,
        "role": last.role,
        "unit": last.unit,
        "action": "approve",
        "from_state": "accepted",
        "to_state": "approved",
        "reasons": [],
        "payload": {},
        "key_id": last.key_id,
        "prev_mac": last.mac,
    }
    row["mac"] = hmac.new(b"guessed-key", repr(row).encode(), hashlib.sha256).hexdigest()
    conn.execute(insert(AuditEvent).values(**row))
    if move_head:
        conn.execute(
            update(Case)
            .where(Case.id == last.case_id)
            .values(audit_seq=6, audit_head=row["mac"], state="approved")
        )


# --- the checks ---------------------------------------------------------------------------


def breaks(rt: Runtime, case_no: str | None = None) -> set[tuple[str, int | None]]:
    return {(b.case_no, b.seq) for b in verify_chains(rt.uow(), case_no)}


def cli(rt: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    assert rt.settings.audit_key is not None
    env |= {
        "TONGBAN_DATABASE_URL": rt.settings.database_url,
        "TONGBAN_AUDIT_KEY": rt.settings.audit_key,
    }
    return subprocess.run(
        [str(TONGBAN), "audit", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=rt.settings.audit_key_file.parent,
    )


def listed(out: str) -> set[tuple[str, int]]:
    return {(no, int(seq)) for no, seq in BREAK_LINE.findall(out)}


def test_untampered_chains_verify_clean(scene: Scene) -> None:
    assert breaks(scene.rt) == set()
    whole = cli(scene.rt)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "BREAK" not in whole.stdout
    one = cli(scene.rt, "--case", scene.target)
    assert one.returncode == 0, one.stdout + one.stderr


def test_verifying_an_unknown_case_is_an_error(scene: Scene) -> None:
    with pytest.raises(CaseNotFound):
        verify_chains(scene.rt.uow(), "NO-SUCH")
    done = cli(scene.rt, "--case", "NO-SUCH")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "NO-SUCH" in done.stderr and "不存在" in done.stderr, done.stderr
    assert "审计链校验通过" not in done.stdout


@pytest.mark.postgres
def test_postgres_refuses_update_delete_and_truncate_of_events(pg_rt: Runtime) -> None:
    s = _scene(pg_rt)
    for statement in (
        "UPDATE audit_events SET payload = '{}' WHERE seq = 3",
        "UPDATE audit_events SET reasons = '[]'",
        "DELETE FROM audit_events WHERE seq = 5",
        "TRUNCATE audit_events",
        "TRUNCATE audit_events CASCADE",
    ):
        with pytest.raises(DBAPIError) as err, pg_rt.engine.begin() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(err.value), statement
        assert getattr(err.value.orig, "sqlstate", None) == "42501"  # insufficient_privilege
    assert breaks(pg_rt) == set()
    with pg_rt.uow() as uow:
        assert uow.session.scalar(select(Case.audit_seq).where(Case.case_no == s.target)) == 5


# Each tampering, and the (case, seq) breaks it must produce: exactly these, or at least
# these (when the rest depends on how the verifier explains a hole).
Tamper = Callable[[Connection, str], None]
TAMPERING: dict[str, tuple[Tamper, set[int], bool]] = {
    "edit_payload": (
        lambda conn, no: edit(conn, no, 3, payload={"document_number": "341702**********99"}),
        {3},
        True,
    ),
    "edit_reasons": (lambda conn, no: edit(conn, no, 3, reasons=["人证一致"]), {3}, True),
    "edit_actor": (
        lambda conn, no: edit(conn, no, 3, actor_name="他人", role="reviewer", unit="GZ330106"),
        {3},
        True,
    ),
    "edit_time": (
        lambda conn, no: edit(conn, no, 3, at=event_of(conn, no, 2).at),
        {3},
        True,
    ),
    "delete_last": (lambda conn, no: remove(conn, no, 5), {5}, True),
    "delete_middle": (lambda conn, no: remove(conn, no, 3), {4}, False),
    "swap_seq": (lambda conn, no: swap(conn, no, 2, 3), {2, 3, 4}, True),
    "forge_and_move_head": (lambda conn, no: forge(conn, no, move_head=True), {6}, True),
    "forge_at_the_tail": (lambda conn, no: forge(conn, no, move_head=False), {6}, False),
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def gallery(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    """One database per backend with a case per kind of tampering, all tampered once; the
    tests below only read it (and the command line runs once over all of it)."""
    folder = tmp_path_factory.mktemp(f"tamper-{request.param}")
    with fresh_runtime(request.param, folder) as runtime:
        scene = _scene(runtime, list(TAMPERING))
        with as_dba(runtime) as conn:
            for kind, (tamper, _seqs, _exact) in TAMPERING.items():
                tamper(conn, scene.targets[kind])
        yield scene


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_is_caught(gallery: Scene, kind: str) -> None:
    _tamper, seqs, exact = TAMPERING[kind]
    no = gallery.targets[kind]
    wanted = {(no, s) for s in seqs}
    found = breaks(gallery.rt, no)
    assert found == wanted if exact else wanted <= found, found
    everywhere = breaks(gallery.rt)
    assert {b for b in everywhere if b[0] == no} == found


def test_untampered_case_is_not_reported(gallery: Scene) -> None:
    found = breaks(gallery.rt)
    assert {no for no, _ in found} == set(gallery.targets.values())
    assert breaks(gallery.rt, gallery.bystander) == set()
    one = cli(gallery.rt, "--case", gallery.bystander)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "BREAK" not in one.stdout


def test_cli_lists_every_break_with_case_and_sequence(gallery: Scene) -> None:
    found = breaks(gallery.rt)
    whole = cli(gallery.rt)
    assert whole.returncode != 0
    assert listed(whole.stdout) == found, whole.stdout
    assert gallery.bystander not in whole.stdout + whole.stderr

    no = gallery.targets["swap_seq"]
    one = cli(gallery.rt, "--case", no)
    assert one.returncode != 0
    assert listed(one.stdout) == {(no, 2), (no, 3), (no, 4)}, one.stdout


def test_every_field_of_an_event_is_under_the_mac(scene: Scene) -> None:
    """Edit each column of a middle event in turn: caught; put it back: clean again."""
    with scene.rt.engine.connect() as conn:
        original = event_of(conn, scene.target, 3)
        reviewer = scene.w.actors["reviewer.gz"].user_id
    changes: dict[str, Any] = {
        "at": original.at + timedelta(seconds=1),
        "actor_id": reviewer,
        "actor_name": "赵敏",
        "role": "reviewer",
        "unit": "GZ330106",
        "action": "fail_identity",
        "from_state": "received",
        "to_state": "identity_failed",
        "reasons": ["x"],
        "payload": {"document_number": "x"},
        "key_id": "0" * 16,
        "prev_mac": "0" * 64,
        "mac": "0" * 64,
    }
    for column, value in changes.items():
        with as_dba(scene.rt) as conn:
            edit(conn, scene.target, 3, **{column: value})
        assert (scene.target, 3) in breaks(scene.rt), column
        with as_dba(scene.rt) as conn:
            edit(conn, scene.target, 3, **{column: getattr(original, column)})
        assert breaks(scene.rt) == set(), column
