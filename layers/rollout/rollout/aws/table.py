"""DynamoDB: endpoint locks, approval claims, and rollout records, in one table (pk, sk).

Items:
- ``ENDPOINT#<name>`` / ``LOCK``: the rollout holding the endpoint (conditional writes, a lease).
- ``ENDPOINT#<name>`` / ``CLAIM#<package arn>#<approval time>``: which rollout handles one approval, so duplicate
  deliveries stop (a later re-approval is a new claim).
- ``ENDPOINT#<name>`` / ``QUEUE#<rollout id>``: a rollout waiting for the endpoint, ordered by approval time.
- ``PACKAGE#<package arn>`` / ``ROLLOUT#<rollout id>``: which rollouts deploy a package (revocations reach them).
- ``ENDPOINT#<name>`` / ``ROLLOUT#<started iso>#<rollout id>``: the rollout record.
- ``ALARM#<alarm name>`` / ``ROLLOUT#<rollout id>``: the task token of the bake watching that alarm.
- ``ENDPOINT#<name>`` / ``LEFTOVER#<rollout id>``: what that rollout's Clean Up could not delete, for the next one.
- ``ENDPOINT#<name>`` / ``HOLD``: a rollout ended needs_attention and left the endpoint for a person: the next
  rollouts wait until someone releases it (``rollout release``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from rollout.aws.clients import client, error_code, translated
from rollout.frozen import frozen

if TYPE_CHECKING:  # request and response shapes checked by mypy (mypy-boto3-dynamodb: dev only, not shipped)
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]  # a key, an item or its fields, as DynamoDB's low-level API takes them


def _ddb() -> DynamoDBClient:
    return client("dynamodb")


def _pk(endpoint: str) -> AttributeValueTypeDef:
    return {"S": f"ENDPOINT#{endpoint}"}


def _epoch(moment: datetime) -> AttributeValueTypeDef:
    return {"N": str(int(moment.timestamp()))}


@frozen
class LockHolder:
    rollout_id: str
    package_arn: str
    acquired_at: str
    execution_arn: str = ""  # the holder's current execution: a lock whose execution ended is stale


def _take_lease(table: str, key: Item, rollout_id: str, fields: Item, now: datetime, seconds: int) -> Item | None:
    """Put a leased item unless another rollout holds an unexpired one. None when ours; else the holder's item."""
    item = {**key, **fields, "rollout_id": {"S": rollout_id}, "expires_at": {"N": str(int(now.timestamp()) + seconds)}}
    with translated("dynamodb:PutItem"):
        try:
            _ddb().put_item(
                TableName=table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR rollout_id = :me OR expires_at < :now",
                ExpressionAttributeValues={":me": {"S": rollout_id}, ":now": _epoch(now)},
            )
            return None
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        current: Item = _ddb().get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
    return current


def _release(table: str, key: Item, rollout_id: str) -> bool:
    """Delete a leased item if we hold it. False when someone else holds it (or nobody does)."""
    with translated("dynamodb:DeleteItem"):
        try:
            _ddb().delete_item(
                TableName=table,
                Key=key,
                ConditionExpression="rollout_id = :me",
                ExpressionAttributeValues={":me": {"S": rollout_id}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
    return True


def _lock_key(endpoint: str) -> Item:
    return {"pk": _pk(endpoint), "sk": {"S": "LOCK"}}


def _claim_key(endpoint: str, package_arn: str, approval: str) -> Item:
    return {"pk": _pk(endpoint), "sk": {"S": f"CLAIM#{package_arn}#{approval}"}}


def _lock_fields(package_arn: str, execution_arn: str, now: datetime) -> Item:
    return {
        "package_arn": {"S": package_arn},
        "acquired_at": {"S": now.isoformat()},
        "execution_arn": {"S": execution_arn},
    }


def acquire_lock(
    table: str, endpoint: str, rollout_id: str, package_arn: str, execution_arn: str, now: datetime, lease_seconds: int
) -> LockHolder | None:
    """Take the endpoint's lock. None when we hold it now; otherwise the current holder."""
    fields = _lock_fields(package_arn, execution_arn, now)
    held = _take_lease(table, _lock_key(endpoint), rollout_id, fields, now, lease_seconds)
    if held is None:
        return None
    if not held:  # released between our write and our read: the next poll takes it
        return LockHolder("(just released)", "", "")
    return LockHolder(
        held["rollout_id"]["S"],
        held.get("package_arn", {}).get("S", ""),
        held.get("acquired_at", {}).get("S", ""),
        held.get("execution_arn", {}).get("S", ""),
    )


def take_over_lock(
    table: str,
    endpoint: str,
    stale: LockHolder,
    rollout_id: str,
    package_arn: str,
    execution_arn: str,
    now: datetime,
    lease_seconds: int,
) -> bool:
    """Take a lock whose holder's execution has ended (it could not release it), unless it changed meanwhile."""
    item = {
        **_lock_key(endpoint),
        **_lock_fields(package_arn, execution_arn, now),
        "rollout_id": {"S": rollout_id},
        "expires_at": {"N": str(int(now.timestamp()) + lease_seconds)},
    }
    with translated("dynamodb:PutItem"):
        try:
            _ddb().put_item(
                TableName=table,
                Item=item,
                ConditionExpression="rollout_id = :stale AND (attribute_not_exists(execution_arn) OR "
                "execution_arn = :stale_execution)",
                ExpressionAttributeValues={
                    ":stale": {"S": stale.rollout_id},
                    ":stale_execution": {"S": stale.execution_arn},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
    return True


def move_lock(
    table: str, endpoint: str, rollout_id: str, execution_arn: str, now: datetime, lease_seconds: int
) -> bool:
    """A rollout continuing in a fresh execution moves its lock there (and renews the lease). False when it does
    not hold the lock."""
    with translated("dynamodb:UpdateItem"):
        try:
            _ddb().update_item(
                TableName=table,
                Key=_lock_key(endpoint),
                UpdateExpression="SET execution_arn = :execution, expires_at = :expires",
                ConditionExpression="rollout_id = :me",
                ExpressionAttributeValues={
                    ":me": {"S": rollout_id},
                    ":execution": {"S": execution_arn},
                    ":expires": {"N": str(int(now.timestamp()) + lease_seconds)},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
    return True


def release_lock(table: str, endpoint: str, rollout_id: str) -> bool:
    """Release the lock if we hold it (safe to call whether or not we do)."""
    return _release(table, _lock_key(endpoint), rollout_id)


# --- the queue of an endpoint: rollouts waiting for its lock, in approval order ------------------------------


@frozen
class QueueEntry:
    """A rollout waiting for an endpoint. Ordered by approval time, then rollout id."""

    rollout_id: str
    approved_at: str  # ISO 8601, UTC
    package_arn: str
    group: str
    version: int | None
    execution_arn: str

    @property
    def order(self) -> tuple[str, str]:
        return (self.approved_at, self.rollout_id)


def _queue_key(endpoint: str, rollout_id: str) -> Item:
    return {"pk": _pk(endpoint), "sk": {"S": f"QUEUE#{rollout_id}"}}


def enqueue(table: str, endpoint: str, entry: QueueEntry, now: datetime, ttl_seconds: int) -> None:
    """Take (or keep) a place in the endpoint's queue. Idempotent: the place is the approval time."""
    item: Item = {
        **_queue_key(endpoint, entry.rollout_id),
        "rollout_id": {"S": entry.rollout_id},
        "approved_at": {"S": entry.approved_at},
        "package_arn": {"S": entry.package_arn},
        "group": {"S": entry.group},
        "execution_arn": {"S": entry.execution_arn},
        "expires_at": {"N": str(int(now.timestamp()) + ttl_seconds)},
    }
    if entry.version is not None:
        item["version"] = {"N": str(entry.version)}
    with translated("dynamodb:PutItem"):
        _ddb().put_item(TableName=table, Item=item)


def queue(table: str, endpoint: str) -> list[QueueEntry]:
    """Everyone waiting for the endpoint, in order."""
    with translated("dynamodb:Query"):
        response = _ddb().query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _pk(endpoint), ":prefix": {"S": "QUEUE#"}},
            ConsistentRead=True,
        )
    entries = [
        QueueEntry(
            rollout_id=item["rollout_id"]["S"],
            approved_at=item["approved_at"]["S"],
            package_arn=item["package_arn"]["S"],
            group=item["group"]["S"],
            version=int(item["version"]["N"]) if "version" in item else None,
            execution_arn=item["execution_arn"]["S"],
        )
        for item in response.get("Items", [])
    ]
    return sorted(entries, key=lambda e: e.order)


def dequeue(table: str, endpoint: str, rollout_id: str) -> None:
    """Leave the endpoint's queue (no error when not in it)."""
    with translated("dynamodb:DeleteItem"):
        _ddb().delete_item(TableName=table, Key=_queue_key(endpoint, rollout_id))


def move_queue_entry(table: str, endpoint: str, rollout_id: str, execution_arn: str) -> None:
    """A queued rollout continuing in a fresh execution keeps its place under its new execution."""
    with translated("dynamodb:UpdateItem"):
        try:
            _ddb().update_item(
                TableName=table,
                Key=_queue_key(endpoint, rollout_id),
                UpdateExpression="SET execution_arn = :execution",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":execution": {"S": execution_arn}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise


# --- which rollouts deploy a package (so a revoked approval reaches them) -----------------------------------


def _package_key(package_arn: str, rollout_id: str) -> Item:
    return {"pk": {"S": f"PACKAGE#{package_arn}"}, "sk": {"S": f"ROLLOUT#{rollout_id}"}}


def index_package(table: str, package_arn: str, rollout_id: str, endpoint: str, now: datetime, ttl: int) -> None:
    """Remember that ``rollout_id`` deploys ``package_arn`` to ``endpoint``."""
    item = {
        **_package_key(package_arn, rollout_id),
        "endpoint_name": {"S": endpoint},
        "expires_at": {"N": str(int(now.timestamp()) + ttl)},
    }
    with translated("dynamodb:PutItem"):
        _ddb().put_item(TableName=table, Item=item)


def rollouts_of_package(table: str, package_arn: str) -> list[tuple[str, str]]:
    """(rollout id, endpoint) of every rollout deploying ``package_arn``."""
    with translated("dynamodb:Query"):
        response = _ddb().query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PACKAGE#{package_arn}"}},
            ConsistentRead=True,
        )
    return [(i["sk"]["S"].split("#", 1)[1], i["endpoint_name"]["S"]) for i in response.get("Items", [])]


def unindex_package(table: str, package_arn: str, rollout_id: str) -> None:
    with translated("dynamodb:DeleteItem"):
        _ddb().delete_item(TableName=table, Key=_package_key(package_arn, rollout_id))


def claim_approval(
    table: str, endpoint: str, package_arn: str, approval: str, rollout_id: str, now: datetime, ttl_seconds: int
) -> str:
    """Claim one approval (``approval`` tells it apart from a later re-approval of the same package) for
    ``endpoint``. Returns the rollout that owns the claim: another one means this is a duplicate delivery."""
    held = _take_lease(table, _claim_key(endpoint, package_arn, approval), rollout_id, {}, now, ttl_seconds)
    return rollout_id if held is None else str(held.get("rollout_id", {}).get("S", rollout_id))


def release_claim(table: str, endpoint: str, package_arn: str, approval: str, rollout_id: str) -> None:
    """Drop our claim (a refused rollout did nothing, so a later delivery of the approval may try again)."""
    _release(table, _claim_key(endpoint, package_arn, approval), rollout_id)


def put_record(table: str, endpoint: str, started_at: datetime, rollout_id: str, fields: dict[str, str | None]) -> None:
    """Write (or overwrite) the rollout record. ``None`` fields are left out."""
    item: Item = {
        "pk": _pk(endpoint),
        "sk": {"S": record_sk(started_at, rollout_id)},
        "rollout_id": {"S": rollout_id},
        "endpoint_name": {"S": endpoint},
    }
    item.update({key: {"S": value} for key, value in fields.items() if value is not None})
    with translated("dynamodb:PutItem"):
        _ddb().put_item(TableName=table, Item=item)


def list_records(table: str, endpoint: str, limit: int = 20, ddb: DynamoDBClient | None = None) -> list[dict[str, str]]:
    """The endpoint's rollout records, newest first, as plain strings (``ddb``: a client of the caller's)."""
    with translated("dynamodb:Query"):
        response = (ddb or _ddb()).query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _pk(endpoint), ":prefix": {"S": "ROLLOUT#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
    return [{k: v["S"] for k, v in item.items() if "S" in v and k not in {"pk", "sk"}} for item in response["Items"]]


def watch_alarms(
    table: str, alarms: list[str], rollout_id: str, endpoint: str, token: str, now: datetime, ttl_seconds: int
) -> None:
    """Register the current bake's task token under every alarm it watches (replacing the previous bake's)."""
    expires = {"N": str(int(now.timestamp()) + ttl_seconds)}
    for alarm in alarms:
        with translated("dynamodb:PutItem"):
            _ddb().put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"ALARM#{alarm}"},
                    "sk": {"S": f"ROLLOUT#{rollout_id}"},
                    "task_token": {"S": token},
                    "endpoint_name": {"S": endpoint},
                    "expires_at": expires,
                },
            )


@frozen
class Watcher:
    rollout_id: str
    endpoint: str
    token: str


def alarm_watchers(table: str, alarm: str) -> list[Watcher]:
    """The bakes watching ``alarm`` (expired ones are left to the table's TTL and to Step Functions)."""
    with translated("dynamodb:Query"):
        response = _ddb().query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ALARM#{alarm}"}},
            ConsistentRead=True,
        )
    return [
        Watcher(item["sk"]["S"].split("#", 1)[1], item["endpoint_name"]["S"], item["task_token"]["S"])
        for item in response.get("Items", [])
    ]


# --- people steering a running rollout ---------------------------------------------------------------------


@frozen
class Waiting:
    """The callback task a rollout waits in now (a bake or a gate), so a person can reach it."""

    rollout_id: str
    token: str
    kind: str  # bake | gate
    gate: str | None


def set_waiting(table: str, endpoint: str, rollout_id: str, token: str, kind: str, gate: str | None) -> None:
    item: Item = {
        "pk": _pk(endpoint),
        "sk": {"S": "WAIT"},
        "rollout_id": {"S": rollout_id},
        "task_token": {"S": token},
        "kind": {"S": kind},
    }
    if gate:
        item["gate"] = {"S": gate}
    with translated("dynamodb:PutItem"):
        _ddb().put_item(TableName=table, Item=item)


def waiting(table: str, endpoint: str) -> Waiting | None:
    """The task the endpoint's rollout waits in (a bake or a gate)."""
    with translated("dynamodb:GetItem"):
        item = _ddb().get_item(TableName=table, Key={"pk": _pk(endpoint), "sk": {"S": "WAIT"}}, ConsistentRead=True)
    found = item.get("Item")
    if not found:
        return None
    gate = found.get("gate", {}).get("S")
    return Waiting(found["rollout_id"]["S"], found["task_token"]["S"], found["kind"]["S"], gate)


def clear_waiting(table: str, endpoint: str, rollout_id: str) -> None:
    """Forget the waiting task of a finished rollout (only if it is ours)."""
    _release(table, {"pk": _pk(endpoint), "sk": {"S": "WAIT"}}, rollout_id)


def lock_holder(table: str, endpoint: str, ddb: DynamoDBClient | None = None) -> str | None:
    """The rollout holding the endpoint now, if any (``ddb``: a client of the caller's, e.g. an operator's)."""
    with translated("dynamodb:GetItem"):
        item = (ddb or _ddb()).get_item(TableName=table, Key=_lock_key(endpoint), ConsistentRead=True).get("Item")
    return item["rollout_id"]["S"] if item else None


# A person's name and reason travel on into the rollout's state, its record, SendTaskFailure's cause (32,768
# characters) and the execution's 256 KiB payloads: keep them short, whatever a person typed.
BY_MAX, REASON_MAX = 256, 1000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clipped(by: str, reason: str) -> tuple[str, str]:
    """A person's name and reason cut to what a request keeps (the same text everywhere it goes)."""
    return _clip(by, BY_MAX), _clip(reason, REASON_MAX)


def put_request(
    table: str,
    endpoint: str,
    rollout_id: str,
    action: str,
    by: str,
    reason: str,
    comment_by: str = "",
    at: datetime | None = None,
) -> None:
    """A request to a running rollout (``abort``, ``promote``, ``approve:<gate>``, ``pause``, ...). ``by`` is who
    asked as AWS authenticated them (a principal ARN, or the service itself); ``comment_by`` is what a person typed
    (--by); ``at`` when they asked (it orders a pause and a resume)."""
    by, reason = clipped(by, reason)
    item = {
        "pk": _pk(endpoint),
        "sk": {"S": f"REQUEST#{rollout_id}#{action}"},
        "by": {"S": by},
        "reason": {"S": reason},
    }
    if comment_by:
        item["comment_by"] = {"S": _clip(comment_by, BY_MAX)}
    if at is not None:
        item["at"] = {"S": at.isoformat()}
    with translated("dynamodb:PutItem"):
        _ddb().put_item(TableName=table, Item=item)


def requests(table: str, endpoint: str, rollout_id: str) -> dict[str, tuple[str, str]]:
    """The requests made to this rollout: action -> (who, reason)."""
    return {action: (who, reason) for action, (who, reason, _at) in timed_requests(table, endpoint, rollout_id).items()}


def timed_requests(table: str, endpoint: str, rollout_id: str) -> dict[str, tuple[str, str, str]]:
    """The requests made to this rollout: action -> (who, reason, when as ISO text; "" if not recorded)."""
    with translated("dynamodb:Query"):
        response = _ddb().query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _pk(endpoint), ":prefix": {"S": f"REQUEST#{rollout_id}#"}},
            ConsistentRead=True,
        )
    return {
        item["sk"]["S"].rsplit("#", 1)[-1]: (_who(item), item["reason"]["S"], item.get("at", {}).get("S", ""))
        for item in response.get("Items", [])
    }


def request_by(table: str, endpoint: str, rollout_id: str, action: str) -> str | None:
    """Who made one request to this rollout (as ``timed_requests`` tells it), or None if nobody did."""
    with translated("dynamodb:GetItem"):
        found = (
            _ddb()
            .get_item(
                TableName=table,
                Key={"pk": _pk(endpoint), "sk": {"S": f"REQUEST#{rollout_id}#{action}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
    return _who(found) if found else None


def _who(item: Item) -> str:
    """Who made a request: the authenticated principal, and what they called themselves (--by), if anything."""
    by = str(item["by"]["S"])
    comment = item.get("comment_by", {}).get("S")
    return f"{by} (--by {comment})" if comment else by


# --- an endpoint held for a person (outcome needs_attention) ------------------------------------------------


@frozen
class Hold:
    """Why an endpoint waits for a person: the rollout that stopped on it, when, and its record's key."""

    rollout_id: str
    reason: str
    since: str
    record_sk: str
    package_arn: str


def record_sk(started_at: datetime, rollout_id: str) -> str:
    return f"ROLLOUT#{started_at.isoformat()}#{rollout_id}"


def _hold_key(endpoint: str) -> Item:
    return {"pk": _pk(endpoint), "sk": {"S": "HOLD"}}


HOLD_REASON_MAX = 2000  # the hold repeats the record's reason; the record keeps it whole


def put_hold(
    table: str, endpoint: str, rollout_id: str, package_arn: str, reason: str, since: datetime, started_at: datetime
) -> None:
    """Hold the endpoint for a person (idempotent for the same rollout; a later hold replaces an earlier one)."""
    with translated("dynamodb:PutItem"):
        _ddb().put_item(
            TableName=table,
            Item={
                **_hold_key(endpoint),
                "rollout_id": {"S": rollout_id},
                "package_arn": {"S": package_arn},
                "reason": {"S": _clip(reason, HOLD_REASON_MAX)},
                "since": {"S": since.isoformat()},
                "record_sk": {"S": record_sk(started_at, rollout_id)},
            },
        )


def hold(table: str, endpoint: str, ddb: DynamoDBClient | None = None) -> Hold | None:
    """The endpoint's hold, if a rollout left it for a person (``ddb``: a client of the caller's)."""
    with translated("dynamodb:GetItem"):
        item = (ddb or _ddb()).get_item(TableName=table, Key=_hold_key(endpoint), ConsistentRead=True).get("Item")
    if not item:
        return None
    return Hold(
        rollout_id=item["rollout_id"]["S"],
        reason=item.get("reason", {}).get("S", ""),
        since=item.get("since", {}).get("S", ""),
        record_sk=item.get("record_sk", {}).get("S", ""),
        package_arn=item.get("package_arn", {}).get("S", ""),
    )


def release_hold(
    table: str, endpoint: str, held: Hold, by: str, reason: str, now: datetime, ddb: DynamoDBClient | None = None
) -> bool:
    """A person's go-ahead: remove the hold (only the one they saw) and note who released it, when and why on the
    held rollout's record. False when the hold changed or went meanwhile."""
    client_ = ddb or _ddb()
    by, reason = clipped(by, reason)
    with translated("dynamodb:DeleteItem"):
        try:
            client_.delete_item(
                TableName=table,
                Key=_hold_key(endpoint),
                ConditionExpression="rollout_id = :held",
                ExpressionAttributeValues={":held": {"S": held.rollout_id}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
    if held.record_sk:
        with translated("dynamodb:UpdateItem"):
            client_.update_item(
                TableName=table,
                Key={"pk": _pk(endpoint), "sk": {"S": held.record_sk}},
                UpdateExpression="SET released_by = :by, released_at = :at, release_reason = :why",
                ExpressionAttributeValues={":by": {"S": by}, ":at": {"S": now.isoformat()}, ":why": {"S": reason}},
            )
    return True


# --- what a rollout could not clean up, for the next rollout of the endpoint ---------------------------------


def _leftover_key(endpoint: str, rollout_id: str) -> Item:
    return {"pk": _pk(endpoint), "sk": {"S": f"LEFTOVER#{rollout_id}"}}


def leftovers(table: str, endpoint: str) -> dict[str, list[str]]:
    """Earlier rollouts' leftovers on the endpoint: rollout id -> ``kind:name`` entries."""
    with translated("dynamodb:Query"):
        response = _ddb().query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _pk(endpoint), ":prefix": {"S": "LEFTOVER#"}},
            ConsistentRead=True,
        )
    return {
        item["sk"]["S"].split("#", 1)[1]: [entry["S"] for entry in item.get("resources", {}).get("L", [])]
        for item in response.get("Items", [])
    }


def put_leftovers(table: str, endpoint: str, rollout_id: str, resources: list[str]) -> None:
    """Keep (or, with nothing left, forget) what ``rollout_id`` leaves behind on the endpoint."""
    if not resources:
        with translated("dynamodb:DeleteItem"):
            _ddb().delete_item(TableName=table, Key=_leftover_key(endpoint, rollout_id))
        return
    with translated("dynamodb:PutItem"):
        _ddb().put_item(
            TableName=table,
            Item={**_leftover_key(endpoint, rollout_id), "resources": {"L": [{"S": r} for r in resources]}},
        )
