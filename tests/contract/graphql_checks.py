"""The GraphQL contract's own check, for schemathesis's GraphQL mode (graphql.toml).

Schemathesis counts every error of a resolver as a server error unless its code is one it
knows as the client's (BAD_USER_INPUT). This API keeps the original's contract: an order that
is not there is `NOT_FOUND`, a step the status forbids is `CONFLICT`, a role that may not is
`FORBIDDEN`, each an error with a stable code in `extensions.code` (docs/graphql-contract.md).
So here an answer fails when the server failed: a 5xx, a body that is not a GraphQL response,
an error with no code, or an error coded INTERNAL_SERVER_ERROR. A field that is null against
the schema is schemathesis's own response_schema_conformance check, which stays on.
"""

import schemathesis

# The codes the API gives (coffee_service::ServiceError::code, the shop's rules, and the
# gateway's own limits); anything else is a code the contract does not have.
KNOWN_CODES = {
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "TOO_MANY_REQUESTS",
    "IDEMPOTENCY_KEY_REUSED",
    "CONFLICT",
    "UNAVAILABLE",
    "TOO_MANY_OPEN_ORDERS",
    "SHOP_CLOSED",
    "SHOP_AT_CAPACITY",
    "SOLD_OUT",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
}


@schemathesis.check
def graphql_errors_are_the_contracts(ctx, response, case):
    """Every GraphQL error carries one of the contract's codes; none is the server's failure."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        payload = response.json()
    except ValueError as e:
        raise AssertionError(f"not JSON: {e}: {response.text[:200]}") from e
    if not isinstance(payload, dict) or not ("data" in payload or "errors" in payload):
        raise AssertionError(f"not a GraphQL response: {response.text[:200]}")
    for error in payload.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code is None:
            raise AssertionError(f"an error without a code: {error}")
        if code not in KNOWN_CODES:
            raise AssertionError(f"an error with a code the contract does not have ({code}): {error}")
