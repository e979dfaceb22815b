"""Who said what over HTTP: /speakers, /statements and /ask answering in kind, on the real
model and the real seed index; every quote checked against the article's text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory


@pytest.fixture
def client(make_client: ClientFactory, seed_index_dir: Path, tmp_path: Path) -> TestClient:
    copy = tmp_path / "index"
    shutil.copytree(seed_index_dir, copy)
    return make_client(copy)


def _text(client: TestClient, doc_id: str) -> str:
    text: str = client.get(f"/documents/{doc_id}").json()["text"]
    return text


def test_speakers_lists_the_people_quoted_with_their_roles(client: TestClient) -> None:
    body = client.get("/speakers").json()
    by_name = {s["name"]: s for s in body["data"]}
    assert body["count"] == len(body["data"]) > 5
    zakharova = by_name["Maria Zakharova"]
    assert zakharova["description"] == "Russian Foreign Ministry spokesperson"
    assert zakharova["documents"] == 2
    assert zakharova["statements"] >= 5
    # Zelenskyy and Zelensky, Syrskyi and Sirsky: one person each.
    assert sum("Zelensk" in name for name in by_name) == 1
    assert sum(name.startswith("Oleksandr S") for name in by_name) == 1
    found = client.get("/speakers", params={"q": "ushak"}).json()
    assert [s["name"] for s in found["data"]] == ["Yuri Ushakov"]
    assert client.get("/speakers", params={"limit": 1}).json()["count"] == body["count"]


def test_statements_by_surname_about_a_topic_quote_the_article_exactly(
    client: TestClient,
) -> None:
    response = client.get(
        "/statements", params={"speaker": "zakharova", "q": "peace talks", "k": 10}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["speaker"] == {
        "name": "Maria Zakharova",
        "description": "Russian Foreign Ministry spokesperson",
    }
    results = body["results"]
    assert len(results) >= 5
    assert {r["doc_id"] for r in results} == {"000_4669eddcbb62d802", "001_85703cbf2dfe94ef"}
    assert {r["kind"] for r in results} == {"direct", "reported"}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    for result in results:
        text = _text(client, result["doc_id"])
        assert text[result["char_start"] : result["char_end"]] == result["quote"]
        mention = text[result["speaker_start"] : result["speaker_end"]]
        assert mention in {
            "Zakharova",
            "she",
            "She",
            "Russian Foreign Ministry spokesperson Maria Zakharova",
        }
    quotes = " ".join(r["quote"] for r in results)
    assert "treacherous terrorist invasion" in quotes
    assert "out of the question" in quotes


def test_the_same_statement_in_two_articles_is_one_with_also_in(client: TestClient) -> None:
    wire = "Kremlin adviser Yuri Ushakov said on Monday that talks with Kyiv are off the table."
    for doc_id in ("wire-a", "wire-b"):
        posted = client.post("/documents", json={"id": doc_id, "text": f"{wire}\nMore text."})
        assert posted.status_code == 201, posted.text
    results = client.get("/statements", params={"speaker": "Yuri Ushakov", "q": "talks"}).json()
    folded = [r for r in results["results"] if r["doc_id"] in {"wire-a", "wire-b"}]
    assert len(folded) == 1
    (other,) = folded[0]["also_in"]
    assert {folded[0]["doc_id"], other["doc_id"]} == {"wire-a", "wire-b"}
    text = _text(client, other["doc_id"])
    assert text[other["char_start"] : other["char_end"]] == folded[0]["quote"]
    # Deleting and replacing articles takes their statements with them.
    assert client.delete("/documents/wire-a").status_code == 204
    client.post("/documents", json={"id": "wire-b", "text": "Nothing was said today."})
    after = client.get("/statements", params={"speaker": "Ushakov", "k": 50}).json()["results"]
    assert not {r["doc_id"] for r in after} & {"wire-a", "wire-b"}


def test_unknown_speakers_are_an_empty_list_and_bad_input_a_clear_422(
    client: TestClient,
) -> None:
    nobody = client.get("/statements", params={"speaker": "Angela Merkel"})
    assert nobody.status_code == 200
    assert nobody.json() == {"speaker": None, "results": []}
    missing = client.get("/statements")
    assert missing.status_code == 422
    assert "speaker" in missing.json()["error"]["message"]
    assert client.get("/statements", params={"speaker": "Putin", "k": 0}).status_code == 422
    scoped = client.get("/statements", params={"speaker": "Putin", "published_after": "2030-01-01"})
    assert scoped.json()["results"] == []  # the seed articles have no dates


def test_ask_what_did_zakharova_say_answers_with_her_statements(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "what did Zakharova say"}).json()
    assert body["answerable"]
    assert body["shape"] == "said"
    assert {c["speaker"] for c in body["citations"]} == {"Maria Zakharova"}
    lines = body["answer"].splitlines()
    assert len(lines) == len(body["citations"]) >= 5
    for number, (line, citation) in enumerate(zip(lines, body["citations"], strict=True), 1):
        assert line.startswith("Maria Zakharova: ")
        assert line.endswith(f"[{number}]")
        text = _text(client, citation["doc_id"])
        assert text[citation["char_start"] : citation["char_end"]] == citation["quote"]
        assert citation["quote"] in line
    assert "out of the question" in body["answer"] or "detached" in body["answer"]


def test_ask_who_is_gives_the_role_the_articles_give(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Who is Yuri Ushakov?"}).json()
    assert body["answerable"]
    assert body["answer"] == "Yuri Ushakov: Kremlin adviser [1]"
    (citation,) = body["citations"]
    assert citation["quote"] == "Kremlin adviser Yuri Ushakov"


def test_ask_withholds_when_the_question_names_someone_no_article_mentions(
    client: TestClient,
) -> None:
    for question in ("what did Angela Merkel say about Kursk", "what did merkel say"):
        body = client.post("/ask", json={"question": question}).json()
        assert not body["answerable"]
        assert body["answer"] is None
        assert body["citations"] == []
        assert body["passages"]  # the nearest passages are still returned


def test_chat_answers_who_said_what_with_numbered_lines(client: TestClient) -> None:
    reply = client.post(
        "/v1/chat/completions",
        json={"model": "byline", "messages": [{"role": "user", "content": "what did Putin say"}]},
    ).json()
    content = reply["choices"][0]["message"]["content"]
    assert content.startswith("Vladimir Putin: ")
    assert "[1]" in content
    assert "Sources:" in content
