"""The ledger's load: kt00015 lines into account_transactions, each natural key once.

A key already stored with the same content adds nothing (re-runs and overlapping ranges are free); a key that
comes again with different content is kept in account_transaction_conflicts, once per difference, and the stored
line stays as it was. Everything happens in the caller's transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from etl.normalize.ledger import KEY_COLUMNS, LEDGER_COLUMNS, Classifier, Kind, LedgerLine
from etl.store import conflicts, realized, returns
from etl.store.models import AccountTransaction, AccountTransactionConflict

_COMPARED = tuple(column for column in LEDGER_COLUMNS if column != "kind")  # kind follows the mapping, not Kiwoom


@dataclass
class LedgerLoad:
    """What one load did: new lines by kind, lines already stored as they are, conflicts recorded."""

    added: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    conflicts: int = 0

    def __iadd__(self, other: LedgerLoad) -> LedgerLoad:
        self.added += other.added
        self.unchanged += other.unchanged
        self.conflicts += other.conflicts
        return self


def store_lines(
    connection: Connection,
    lines: Sequence[LedgerLine],
    *,
    run_id: int,
    account_no: str,
    received_at: datetime,
    loaded_at: datetime,
) -> LedgerLoad:
    """Load `lines` of `account_no` (one multi-row insert for the new ones); return what was done."""
    load = LedgerLoad()
    if not lines:
        return load
    stored = _stored(connection, account_no, lines)
    new: dict[tuple[Any, ...], LedgerLine] = {}
    repeats: list[tuple[LedgerLine, dict[str, Any]]] = []
    for line in lines:
        known = stored.get(line.key)
        if known is None and line.key in new:
            known = dict(new[line.key].values)  # the same key twice in one answer: the first one stands
        if known is None:
            new[line.key] = line
        else:
            repeats.append((line, known))
    if new:
        connection.execute(
            insert(AccountTransaction),
            [
                {**line.values, "run_id": run_id, "account_no": account_no, "loaded_at": loaded_at}
                for line in new.values()
            ],
        )
        load.added.update(line.values["kind"] for line in new.values())
        # A new line is a flow of its booking day: the returns from it on change (a late line, an earlier day).
        returns.refresh(connection, [(account_no, min(line.values["settlement_date"] for line in new.values()))])
        if any(line.values["kind"] in realized.SHARE_KINDS for line in new.values()):  # a step of the cost walk
            realized.refresh(connection, [account_no])
    # Ids of lines inserted just now are needed only by a repeat within this answer, which is rare: read them then.
    repeated_new = [line for line, _ in repeats if line.key in new]
    if repeated_new:
        stored.update(_stored(connection, account_no, repeated_new))
    for line, known in repeats:
        differences = conflicts.differences(known, line.values, _COMPARED, blank_is_null=True)
        if not differences:
            load.unchanged += 1
            continue
        transaction_id = stored[line.key]["id"]
        if conflicts.conflict_known(connection, AccountTransactionConflict.transaction_id, transaction_id, differences):
            continue
        connection.execute(
            insert(AccountTransactionConflict).values(
                run_id=run_id,
                account_no=account_no,
                **dict(zip(KEY_COLUMNS, line.key, strict=True)),
                transaction_id=transaction_id,
                differences=differences,
                line=json.dumps(line.received, ensure_ascii=False, sort_keys=True),
                received_at=received_at,
            )
        )
        load.conflicts += 1
    return load


def _stored(connection: Connection, account_no: str, lines: Sequence[LedgerLine]) -> dict[tuple[Any, ...], Any]:
    """The stored lines of `account_no` in the date range of `lines`, by natural key."""
    dates = [line.values["settlement_date"] for line in lines]
    rows = connection.execute(
        select(AccountTransaction.__table__).where(
            and_(
                AccountTransaction.account_no == account_no,
                AccountTransaction.settlement_date.between(min(dates), max(dates)),
            )
        )
    ).mappings()
    return {tuple(row[column] for column in KEY_COLUMNS): dict(row) for row in rows}


def newest_settlement_date(connection: Connection, account_no: str) -> date | None:
    """The newest settlement_date loaded for `account_no`, or None."""
    newest: date | None = connection.execute(
        select(func.max(AccountTransaction.settlement_date)).where(AccountTransaction.account_no == account_no)
    ).scalar_one()
    return newest


def reclassify(connection: Connection, classifier: Classifier) -> Counter[tuple[str, str]]:
    """Give every stored line the kind `classifier` finds; return how many moved, by (old kind, new kind). The
    returns of each account with a line moved change from its earliest such line's booking day on, and its realised
    walk when the line moved into or out of the share kinds."""
    moved: Counter[tuple[str, str]] = Counter()
    changes = []
    earliest: dict[str, date] = {}
    walked: set[str] = set()  # the accounts with a line moved into or out of the share kinds
    a = AccountTransaction
    rows = connection.execute(select(a.id, a.account_no, a.settlement_date, a.kind, a.remark, a.io_type_name))
    for id_, account_no, settlement_date, kind, remark, io_type_name in rows:
        new = classifier.classify(remark, io_type_name).value
        if new != kind:
            moved[(kind, new)] += 1
            changes.append({"row_id": id_, "new_kind": new})
            earliest[account_no] = min(settlement_date, earliest.get(account_no, settlement_date))
            if kind in realized.SHARE_KINDS or new in realized.SHARE_KINDS:
                walked.add(account_no)
    if changes:
        connection.execute(
            update(AccountTransaction)
            .where(AccountTransaction.id == bindparam("row_id"))
            .values(kind=bindparam("new_kind")),
            changes,
        )
        returns.refresh(connection, earliest.items())
        realized.refresh(connection, walked)
    return moved


def kind_counts(connection: Connection, accounts: Iterable[str] | None = None) -> Counter[str]:
    """Stored lines by kind (every kind present, `other` included)."""
    query = select(AccountTransaction.kind, func.count()).group_by(AccountTransaction.kind)
    if accounts is not None:
        query = query.where(AccountTransaction.account_no.in_(list(accounts)))
    counts: Counter[str] = Counter({kind.value: 0 for kind in Kind})
    counts.update({kind: count for kind, count in connection.execute(query)})
    return counts


def conflict_count(connection: Connection) -> int:
    """Conflicts recorded, over every account."""
    return int(connection.execute(select(func.count()).select_from(AccountTransactionConflict)).scalar_one())
