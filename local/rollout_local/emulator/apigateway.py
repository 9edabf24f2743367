"""API Gateway in local mode: the stack's REST API with ``AWS_IAM`` authorization, in front of its Lambda function.

What API Gateway does for an IAM-authorized method, in its order:
- a request for no route of the API, or without a SigV4 ``Authorization`` header: 403 ``Missing Authentication
  Token`` (MISSING_AUTHENTICATION_TOKEN);
- an access key the account does not know: 403 ``The security token included in the request is invalid.``;
- a signature that does not match (recomputed with the key's secret over the signed headers): 403
  (INVALID_SIGNATURE);
- the caller's identity-based policies must allow ``execute-api:Invoke`` on
  ``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``: otherwise 403 ``User: <arn> is
  not authorized to perform: execute-api:Invoke on resource: <arn>`` (ACCESS_DENIED);
- then the function runs with the Lambda proxy event, ``requestContext.identity.userArn`` being the principal
  authenticated; a function error is 502 ``Internal server error``.
Not modelled: the signature's 5-minute validity (signatures use real time, the simulation virtual time), resource
policies, throttling.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from rollout_local.emulator.iam_needs import Need
from rollout_local.emulator.iam_policy import IamModelError, Role
from rollout_local.emulator.sagemaker import ACCOUNT, REGION

MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105 - API Gateway's message, not a secret
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105 - a message
INVALID_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details."
)
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<headers>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Person:
    """Someone with AWS credentials of the account: an access key, its secret, and the role they act in."""

    name: str
    access_key: str
    secret_key: str
    role: Role

    @property
    def principal(self) -> str:
        return self.role.principal


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # e.g. /endpoints/{endpoint}/{action}
    function_arn: str

    def match(self, path: str) -> dict[str, str] | None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return {k: unquote(v) for k, v in found.groupdict().items()} if found else None


Invoke = Callable[[str, bytes, dict[str, str]], bytes]


@dataclass
class LocalRestApi:
    """One REST API of the stack, IAM-authorized, in front of its functions."""

    api_id: str
    stage: str
    routes: list[Route]
    invoke: Invoke
    people: dict[str, Person] = field(default_factory=dict)  # access key -> person
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://{self.api_id}.execute-api.{REGION}.amazonaws.com/{self.stage}"

    @property
    def arn(self) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.api_id}/{self.stage}"

    def send(self, request: Any) -> tuple[int, bytes]:
        """Answer one HTTP request (botocore's prepared request) as API Gateway would."""
        status, body, principal = self._answer(request)
        self.log.append({"url": request.url, "status": status, "principal": principal})
        return status, body

    def _answer(self, request: Any) -> tuple[int, bytes, str | None]:
        url = urlsplit(request.url)
        prefix = f"/{self.stage}"
        path = url.path[len(prefix) :] if url.path.startswith(prefix + "/") else None
        found = next(
            ((r, p) for r in self.routes if r.method == request.method and (p := r.match(path or "")) is not None),
            None,
        )
        header = _header(request, "Authorization")
        if url.netloc != urlsplit(self.url).netloc or found is None or not header:
            return _refused(MISSING_TOKEN)
        signed = AUTHORIZATION.match(header)
        person = self.people.get(signed.group("key")) if signed else None
        if signed is None or person is None:
            return _refused(INVALID_TOKEN)
        if not _signature_holds(request, signed, person):
            return _refused(INVALID_SIGNATURE)
        route, parameters = found
        method_arn = f"{self.arn}/{request.method}{path}"
        if person.role.decide(Need("execute-api:Invoke", method_arn)) != "allow":
            message = (
                f"User: {person.principal} is not authorized to perform: execute-api:Invoke on resource: {method_arn}"
            )
            return 403, json.dumps({"Message": message}).encode(), person.principal
        event = self._proxy_event(request, route, path or "", parameters, person)
        headers: dict[str, str] = {}
        raw = self.invoke(route.function_arn, json.dumps(event).encode(), headers)
        if headers.get("x-amz-function-error"):
            return 502, json.dumps({"message": "Internal server error"}).encode(), person.principal
        answer = json.loads(raw)
        return int(answer.get("statusCode", 502)), str(answer.get("body", "")).encode(), person.principal

    def _proxy_event(
        self, request: Any, route: Route, path: str, parameters: dict[str, str], person: Person
    ) -> dict[str, Any]:
        """The Lambda proxy integration's event (REST API, payload version 1.0)."""
        body = request.body
        text = body.decode() if isinstance(body, bytes) else (body or None)
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": request.method,
            "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            "pathParameters": parameters,
            "queryStringParameters": None,
            "body": text,
            "isBase64Encoded": False,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": self.api_id,
                "stage": self.stage,
                "resourcePath": route.path,
                "httpMethod": request.method,
                "path": f"/{self.stage}{path}",
                "requestId": str(uuid.uuid4()),
                "identity": {
                    "accountId": ACCOUNT,
                    "accessKey": person.access_key,
                    "caller": f"{person.role.name}:{person.role.session}",
                    "user": f"{person.role.name}:{person.role.session}",
                    "userArn": person.principal,
                    "sourceIp": "127.0.0.1",
                },
            },
        }


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _refused(message: str) -> tuple[int, bytes, str | None]:
    return 403, json.dumps({"message": message}).encode(), None


def _signature_holds(request: Any, signed: re.Match[str], person: Person) -> bool:
    """Recompute the SigV4 signature over the headers the caller signed, with the key's secret."""
    names = signed.group("headers").split(";")
    # host comes from the URL when the client sent no Host header (botocore signs it that way too)
    headers = {name: _header(request, name) for name in names if _header(request, name)}
    copy = AWSRequest(method=request.method, url=request.url, data=request.body, headers=headers)
    auth = SigV4Auth(Credentials(person.access_key, person.secret_key), signed.group("service"), signed.group("region"))
    copy.context["timestamp"] = headers.get("x-amz-date", "")
    if not copy.context["timestamp"] or signed.group("service") != "execute-api":
        return False
    canonical = auth.canonical_request(copy)
    expected = auth.signature(auth.string_to_sign(copy, canonical), copy)
    return bool(expected == signed.group("signature"))


def rest_apis_from_template(
    template: dict[str, Any], function_arns: dict[str, str], invoke: Invoke, api_ids: Callable[[str], str]
) -> dict[str, LocalRestApi]:
    """Every ``AWS::Serverless::Api`` with its functions' ``Api`` events. Only what local mode models is accepted:
    ``AWS_IAM`` as the default authorizer with ``InvokeRole: NONE`` (anything else is refused, never ignored)."""
    apis: dict[str, LocalRestApi] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        props = resource.get("Properties", {})
        auth = props.get("Auth") or {}
        if auth.get("DefaultAuthorizer") != "AWS_IAM" or auth.get("InvokeRole") != "NONE":
            raise IamModelError(f"{logical_id}: local mode models REST APIs with AWS_IAM auth and InvokeRole NONE only")
        apis[logical_id] = LocalRestApi(api_ids(logical_id), str(props.get("StageName", "Prod")), [], invoke)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            target = getattr(event["Properties"].get("RestApiId"), "value", None)
            if target not in apis:
                raise IamModelError(f"{logical_id}: an Api event must name one of the template's APIs (RestApiId)")
            properties = event["Properties"]
            route = Route(str(properties["Method"]).upper(), str(properties["Path"]), function_arns[logical_id])
            apis[target].routes.append(route)
    return apis
