"""The Open311 GeoReport v2 read side, against the fields the specification documents."""

from __future__ import annotations

from datetime import datetime

from starlette.testclient import TestClient

from domain.task_states import STATE_LABELS
from projections.read import ReadSide
from web_support import World, client, client_for, read, world  # noqa: F401

# GeoReport v2: GET Service List and GET Service Requests / GET Service Request.
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                  "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"}
BASE = "/open311/v2"


def get(client: TestClient, url: str, status: int = 200) -> list[dict[str, object]]:
    answer = client.get(url)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def error(client: TestClient, url: str, status: int, said: str) -> None:
    found = get(client, url, status)
    assert found == [{"code": status, "description": found[0]["description"]}]
    assert said in str(found[0]["description"]), found


def test_services_are_the_categories(client: TestClient, read: ReadSide) -> None:
    services = get(client, f"{BASE}/services.json")
    assert all(set(s) == SERVICE_FIELDS for s in services)
    assert [s["service_code"] for s in services] == read.store.ledger.campaign().categories
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)


def test_requests_carry_the_documented_fields_mapped_from_tasks(client: TestClient,
                                                                read: ReadSide) -> None:
    found = get(client, f"{BASE}/requests.json")
    assert all(set(r) == REQUEST_FIELDS for r in found)
    board = {row["task"]: row for row in read.board()}
    assert sorted(r["service_request_id"] for r in found) == sorted(board)
    for request in found:
        row = board[request["service_request_id"]]  # type: ignore[index]
        closed = row["state"] in ("verified", "closed")
        assert request["status"] == ("closed" if closed else "open")
        assert str(request["status_notes"]).startswith(STATE_LABELS[row["state"]])
        assert request["service_code"] == row["category"]
        assert request["address"] == row["location"]
        assert str(request["agency_responsible"]).startswith(row["unit"])
        for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert datetime.fromisoformat(str(request[key])).tzinfo is not None
        assert (request["lat"], request["long"]) == (row["latitude"], row["longitude"])
    times = [r["requested_datetime"] for r in found]
    assert times == sorted(times, key=lambda t: datetime.fromisoformat(str(t)))


def test_request_filters(client: TestClient, read: ReadSide) -> None:
    closed = get(client, f"{BASE}/requests.json?status=closed")
    assert {r["status"] for r in closed} == {"closed"}
    opened = get(client, f"{BASE}/requests.json?status=open")
    assert {r["status"] for r in opened} == {"open"}
    assert len(closed) + len(opened) == len(read.board())
    both = get(client, f"{BASE}/requests.json?status=open,closed")
    assert len(both) == len(read.board())
    code = get(client, f"{BASE}/requests.json?service_code=环境卫生")
    assert {r["service_code"] for r in code} == {"环境卫生"}
    window = get(client, f"{BASE}/requests.json?start_date=2024-05-05T00:00:00Z"
                 "&end_date=2024-05-10T23:59:59%2B08:00")
    assert [r["service_request_id"] for r in window] == ["T-000002", "T-000003"]
    named = get(client, f"{BASE}/requests.json?service_request_id=T-000003,t-000001")
    assert sorted(r["service_request_id"] for r in named) == ["T-000001", "T-000003"]


def test_requests_page(client: TestClient) -> None:
    everything = [r["service_request_id"] for r in get(client, f"{BASE}/requests.json")]
    paged = []
    for page in (1, 2, 3):
        paged += [r["service_request_id"] for r in
                  get(client, f"{BASE}/requests.json?page_size=3&page={page}")]
    assert paged == everything
    error(client, f"{BASE}/requests.json?page_size=3&page=4", 404, "past the last page")


def test_one_request(client: TestClient) -> None:
    [one] = get(client, f"{BASE}/requests/T-000004.json")
    assert one["service_request_id"] == "T-000004" and one["status"] == "open"
    assert set(one) == REQUEST_FIELDS
    error(client, f"{BASE}/requests/T-424242.json", 404, "unknown service request: T-424242")


def test_bad_input_is_a_json_error_naming_the_field(client: TestClient) -> None:
    error(client, f"{BASE}/requests.json?start_date=last-week", 400,
          "start_date 须为日期或日期时间")
    error(client, f"{BASE}/requests.json?status=pending", 400,
          "status 须为 open、closed 或 open,closed，收到 'pending'")
    error(client, f"{BASE}/requests.json?page_size=5000", 400,
          "page_size 须为 1 到 1000 之间的整数")
    error(client, f"{BASE}/requests.json?start_date=2024-06-01&end_date=2024-05-01", 400,
          "end_date 须晚于 start_date")


def test_the_api_key_opens_the_endpoints_without_a_session(world: World) -> None:
    client, server, _ = client_for(world)
    bare = TestClient(client.app, raise_server_exceptions=False)
    error(bare, f"{BASE}/services.json", 401, "api_key missing or wrong")
    error(bare, f"{BASE}/services.json?api_key=guess", 401, "api_key missing or wrong")
    assert get(bare, f"{BASE}/services.json?api_key={server.gate.api_key}")
    server.store.close()
