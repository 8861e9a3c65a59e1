"""The front door's pure decisions, table by table: whose data a request touches, where it
may go, what follows each attempt, what is answered when nothing could serve it, which
targets are refused, how lists across regions are paged, and the bytes it writes."""

from __future__ import annotations

import pytest

from controlplane.frontdoor_metrics import FrontDoorMetrics
from controlplane.frontdoor_pages import Window, merge, page_params, windows, with_window
from controlplane.frontdoor_routing import (
    SERVE,
    STOP,
    Facts,
    Failure,
    Home,
    Kind,
    Outcome,
    Topology,
    classify,
    counted_route,
    entity_of,
    give_up,
    misdirected_to,
    next_step,
    plan,
    reject_target,
    retry_safe,
    routes_by_body,
)
from controlplane.frontdoor_state import targets_of
from controlplane.frontdoor_wire import header_value, rewrite_head, stamp, upstream_request

REGIONS = ("ams", "iad", "syd", "sin", "sfo", "jnb")
TOPO = Topology(
    regions=REGIONS,
    homes={"AUS": "syd", "AU": "syd", "NOR": "ams", "USA": "iad", "ZAF": "jnb", "FRA": "ams"},
    default="ams",
    nearest={"ams": ("iad", "jnb", "sin", "sfo", "syd"), "syd": ("sin", "sfo", "jnb", "iad",
                                                                 "ams"),
             "iad": ("sfo", "ams", "jnb", "sin", "syd"), "sin": ("syd", "jnb", "ams", "sfo",
                                                                 "iad"),
             "sfo": ("iad", "syd", "sin", "ams", "jnb"), "jnb": ("ams", "sin", "iad", "syd",
                                                                 "sfo")})
OWN, REF, FAN = Kind.OWNED, Kind.REFERENCE, Kind.FANOUT


@pytest.mark.parametrize(("facts", "home", "kind"), [
    # owned data: by the id's region, the body's country (ISO3 or ISO2), ?country=
    (Facts("GET", "/v1/projects/syd-61"), "syd", OWN),
    (Facts("PATCH", "/v1/users/jnb-7"), "jnb", OWN),
    (Facts("DELETE", "/v1/projects/sin-3/anything"), "sin", OWN),
    (Facts("POST", "/v1/projects", body_country="AUS"), "syd", OWN),
    (Facts("POST", "/v1/users", body_country="au"), "syd", OWN),
    (Facts("GET", "/v1/projects", "country=AUS&limit=5"), "syd", OWN),
    (Facts("GET", "/v1/users", "country=usa"), "iad", OWN),
    # the documented overrides win over the data
    (Facts("POST", "/v1/projects", region_header="JNB", body_country="AUS"), "jnb", OWN),
    (Facts("GET", "/v1/projects/syd-61", country_header="NOR"), "ams", OWN),
    (Facts("GET", "/v1/countries", region_header="sfo"), "sfo", REF),
    # ids and bodies that name no region: the default region answers (its 404/422)
    (Facts("GET", "/v1/projects/61"), "ams", OWN),
    (Facts("GET", "/v1/projects/xyz-61"), "ams", OWN),
    (Facts("POST", "/v1/projects", body_country="ATLANTIS"), "ams", OWN),
    (Facts("POST", "/v1/projects"), "ams", OWN),
    # lists without a country: every region
    (Facts("GET", "/v1/projects"), "ams", FAN),
    (Facts("GET", "/v1/users", "email=a%40b.example"), "ams", FAN),
    (Facts("HEAD", "/v1/users"), "ams", OWN),  # a merged page has no HEAD: one region's
    # replicated reference data: by an ISO3 path segment, ?country=, else the default
    (Facts("GET", "/v1/countries/AUS"), "syd", REF),
    (Facts("GET", "/v1/contributions/countries/ZAF"), "jnb", REF),
    (Facts("GET", "/v1/countries/aus"), "ams", REF),  # only upper case reads as a code
    (Facts("GET", "/v1/statistics", "country=AUS"), "syd", REF),
    (Facts("GET", "/v1/sectors"), "ams", REF),
    (Facts("GET", "/v1/regions/syd"), "ams", REF),
])
def test_classify(facts: Facts, home: str, kind: Kind) -> None:
    got = classify(facts, TOPO)
    assert (got.region, got.kind) == (home, kind), got.why


@pytest.mark.parametrize(("path", "entity"), [
    ("/v1/projects", ("projects", None)), ("/v1/projects/", ("projects", None)),
    ("/v1/users/syd-1", ("users", "syd-1")), ("/v1/users/syd-1/x", ("users", "syd-1")),
    ("/v1/countries/AUS", None), ("/v2/projects", None), ("v1/projects", None), ("/", None),
])
def test_entity_of(path: str, entity: tuple[str, str | None] | None) -> None:
    assert entity_of(path) == entity


@pytest.mark.parametrize(("method", "path", "by_body"), [
    ("POST", "/v1/projects", True), ("POST", "/v1/users", True),
    ("PATCH", "/v1/projects/syd-1", False), ("POST", "/v1/projects/syd-1", False),
    ("PUT", "/v1/projects", False), ("POST", "/v1/countries", False),
])
def test_only_creates_route_by_their_body(method: str, path: str, by_body: bool) -> None:
    assert routes_by_body(method, path) is by_body


SYD_DOWN = {r: r for r in REGIONS} | {"syd": "sin"}


@pytest.mark.parametrize(("home", "routed", "regions", "refused"), [
    # owned data: the home, every attempt; refused (503) when its traffic is routed away
    (Home("syd", OWN, ""), None, ("syd", "syd", "syd"), False),
    (Home("syd", OWN, ""), {r: r for r in REGIONS}, ("syd", "syd", "syd"), False),
    (Home("syd", OWN, ""), SYD_DOWN, (), True),
    (Home("ams", OWN, ""), SYD_DOWN, ("ams", "ams", "ams"), False),
    # reference data: the routed region, then the home and its nearest
    (Home("syd", REF, ""), None, ("syd", "sin", "sfo"), False),
    (Home("syd", REF, ""), SYD_DOWN, ("sin", "syd", "sfo"), False),
    # a list across regions: all six, or refused while any is routed away
    (Home("ams", FAN, ""), None, REGIONS, False),
    (Home("ams", FAN, ""), SYD_DOWN, (), True),
])
def test_plan(home: Home, routed: dict[str, str] | None, regions: tuple[str, ...],
              refused: bool) -> None:
    got = plan(home, routed, TOPO)
    assert got.regions == regions
    assert bool(got.refusal) is refused
    if refused:
        assert "syd" in got.refusal and "retry later" in got.refusal


@pytest.mark.parametrize(("method", "keyed", "safe"), [
    ("GET", False, True), ("HEAD", False, True), ("OPTIONS", False, True),
    ("DELETE", False, False),  # repeated after it acted, a DELETE answers 404
    ("PUT", False, False), ("POST", False, False), ("PATCH", False, False),
    ("POST", True, True), ("DELETE", True, True),
])
def test_retry_safe(method: str, keyed: bool, safe: bool) -> None:
    assert retry_safe(method, keyed) is safe


@pytest.mark.parametrize(("outcome", "safe", "step"), [
    (200, True, SERVE), (404, False, SERVE), (422, True, SERVE),
    (500, True, SERVE),  # an origin's own 500 is its answer: served, not retried
    (503, True, "503"), (502, True, "502"), (504, True, "504"),
    (503, False, SERVE),  # a POST without a key that may have acted is not repeated
    (Failure.CONNECT, False, "connect"),  # never reached the origin: any request
    (Failure.CONNECT, True, "connect"),
    (Failure.RESET, True, "reset"), (Failure.RESET, False, STOP),
    (Failure.TIMEOUT, True, "timeout"), (Failure.TIMEOUT, False, STOP),
])
def test_next_step_after_an_attempt(outcome: Outcome, safe: bool, step: str) -> None:
    assert next_step(outcome, safe) == step


@pytest.mark.parametrize(("kind", "last", "safe", "status", "retry_after", "says"), [
    (OWN, Failure.CONNECT, False, 503, True, "nothing was written"),
    (OWN, Failure.RESET, True, 503, True, "did not answer"),
    (OWN, Failure.TIMEOUT, True, 503, True, "did not answer"),
    (OWN, Failure.RESET, False, 502, False, "may have been applied"),
    (REF, Failure.RESET, False, 502, False, "may have been applied"),
    (REF, Failure.CONNECT, True, 502, False, "no region could serve"),
    (REF, Failure.TIMEOUT, True, 502, False, "no region could serve"),
])
def test_give_up(kind: Kind, last: Failure, safe: bool, status: int, retry_after: bool,
                 says: str) -> None:
    answer = give_up("syd", kind, last, safe, "syd: connect failed")
    assert (answer.status, answer.retry_after) == (status, retry_after)
    assert says in answer.reason


@pytest.mark.parametrize(("status", "named", "tried", "to"), [
    (421, "syd", "ams", "syd"),  # the region says the data lives in syd
    (421, "ams", "ams", ""),     # names itself: nothing to follow
    (421, "xyz", "ams", ""),     # names no region we know
    (421, "", "ams", ""), (422, "syd", "ams", ""),
])
def test_misdirected_to(status: int, named: str, tried: str, to: str) -> None:
    assert misdirected_to(status, named, tried, TOPO) == to


@pytest.mark.parametrize(("target", "refused"), [
    (b"/v1/countries/AUS", ""), (b"/v1/users?email=a%40b.example&x=%00", ""),
    (b"/v1/countries/A.US", ""), (b"/v1/projects/syd-61", ""),
    (b"/v1/../admin", "segment"), (b"/v1/%2e%2E/admin", "segment"), (b"/v1/./x", "segment"),
    (b"/..", "segment"), (b"/v1/countries/..", "segment"),
    (b"/v1/a%00b", "encoded control"), (b"/v1/a%0Ab", "encoded control"),
    (b"/v1/a%7fb", "encoded control"), (b"/v1/a\x01b", "control"), (b"/v1/a b", "control"),
    (b"/v1/\xc3\xa9", "non-ASCII"), (b"*", "must be a path"),
    (b"http://evil.example/v1", "must be a path"), (b"/" + b"a" * 9000, "at most"),
])
def test_reject_target(target: bytes, refused: str) -> None:
    reason = reject_target(target)
    assert (refused in reason) if refused else reason == ""


@pytest.mark.parametrize(("path", "route"), [
    ("/v1/projects", "/v1/projects"), ("/v1/projects/syd-1", "/v1/projects/{id}"),
    ("/v1/users/x", "/v1/users/{id}"), ("/v1/countries/AUS", "<frontdoor>"),
])
def test_counted_route_is_a_template(path: str, route: str) -> None:
    assert counted_route(path) == route


@pytest.mark.parametrize(("query", "params"), [
    ("", (50, 0)), ("limit=10&offset=20&sector=energy", (10, 20)), ("email=a@b", (50, 0)),
    ("limit=abc", None), ("offset=-1", None), ("limit=", None), ("limit=1" + "0" * 13, None),
])
def test_page_params(query: str, params: tuple[int, int] | None) -> None:
    assert page_params(query) == params


@pytest.mark.parametrize(("totals", "offset", "limit", "parts"), [
    ((3, 4, 0), 0, 5, [(0, 3), (0, 2), (0, 0)]),
    ((3, 4, 5), 2, 3, [(2, 1), (0, 2), (0, 0)]),
    ((3, 4, 5), 7, 10, [(0, 0), (0, 0), (0, 5)]),
    ((3, 4, 5), 12, 10, [(0, 0), (0, 0), (0, 0)]),
    ((0, 0, 9), 4, 2, [(0, 0), (0, 0), (4, 2)]),
])
def test_windows_cut_one_page_from_the_lists_end_to_end(
        totals: tuple[int, ...], offset: int, limit: int, parts: list[tuple[int, int]]) -> None:
    assert windows(totals, offset, limit) == [Window(o, n) for o, n in parts]


def test_with_window_keeps_the_filters() -> None:
    assert with_window("email=a%40b&limit=9&offset=3", Window(2, 5)) == \
        "email=a%40b&limit=5&offset=2"


def test_merge_lays_pages_end_to_end() -> None:
    pages = [{"items": [1, 2], "total": 2}, {"items": [], "total": 0},
             {"items": [3, 4, 5], "total": 7}]
    assert merge(pages, 0, 4) == {"items": [1, 2, 3, 4], "total": 9, "limit": 4, "offset": 0}
    assert merge(pages, 5, 2, totals=[10, 0, 7]) == {
        "items": [1, 2], "total": 17, "limit": 2, "offset": 5}


@pytest.mark.parametrize(("table", "targets"), [
    ({}, {r: r for r in REGIONS}),
    ({"syd": {"syd": 0, "sin": 100}}, {r: r for r in REGIONS} | {"syd": "sin"}),
    ({"syd": {"mars": 100}, "nowhere": {"ams": 100}}, {r: r for r in REGIONS}),
])
def test_targets_of_a_pushed_table(table: dict[str, dict[str, int]],
                                   targets: dict[str, str]) -> None:
    assert targets_of(table, REGIONS) == targets


@pytest.mark.parametrize(("head", "close", "expected"), [
    (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", False,
     b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nH\r\n\r\n"),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
     b"X-Covenant-Home: ams\r\ncontent-length: 2\r\n\r\n", True,
     b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nH\r\nconnection: close\r\n\r\n"),
])
def test_rewrite_head(head: bytes, close: bool, expected: bytes) -> None:
    assert rewrite_head(head, b"H\r\n", close) == expected


def test_upstream_request_frames_the_body_by_its_length() -> None:
    assert upstream_request("POST", b"/v1/projects", [b"a: b\r\n"], b"{}") == \
        b"POST /v1/projects HTTP/1.1\r\na: b\r\ncontent-length: 2\r\n\r\n{}"
    assert upstream_request("GET", b"/x", [], b"") == b"GET /x HTTP/1.1\r\n\r\n"
    assert upstream_request("POST", b"/x", [], b"").endswith(b"content-length: 0\r\n\r\n")


def test_header_value_and_stamp() -> None:
    head = b"HTTP/1.1 421 Misdirected Request\r\nX-Covenant-Home:  syd \r\n\r\n"
    assert header_value(head, b"x-covenant-home") == "syd"
    assert header_value(head, b"location") == ""
    assert stamp("syd", "sin") == b"x-covenant-home: syd\r\nx-covenant-served-by: sin\r\n"


def test_metrics_count_own_answers_in_the_core_api_shape() -> None:
    m = FrontDoorMetrics()
    m.served("syd", "syd", 200)
    m.answered("syd", "/v1/projects", "POST", 503, "region_down")
    m.retried("syd", "connect")
    text = m.render().decode()
    assert 'covenant_frontdoor_requests_total{home="syd",served="syd",status="200"} 1' in text
    assert 'covenant_frontdoor_requests_total{home="syd",served="none",status="503"} 1' in text
    assert 'covenant_frontdoor_unavailable_total{home="syd",reason="region_down"} 1' in text
    assert 'covenant_frontdoor_retries_total{home="syd",reason="connect"} 1' in text
    assert ('http_requests_total{region="syd",route="/v1/projects",method="POST",'
            'status="503",source="frontdoor"} 1') in text
