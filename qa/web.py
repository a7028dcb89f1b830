"""The web chat (Gradio): ask in the browser, see the answer with its cited passages.

``qa serve`` / ``python app.py`` / ``make run`` start it on 127.0.0.1:7860. The same answer is
available to programs through the API endpoint ``/ask`` (see the README), which returns the
``qa ask --json`` object.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

from .config import Settings, available_cores, go_offline
from .followup import resolve
from .loading import SUPPORTED
from .pipeline import Assistant, QuestionError
from .readers import ExtractionCache, Readers
from .render import answer_html
from .schema import Answer
from .store import EXTRACTED_DIR

EXAMPLES = [
    "温州后进支部转化了多少个",
    "构建城乡统筹基层党建新格局的作者是谁？",
    "全县基层组织建设年推进会议在哪里召开？",
    "秀洲党员服务中心总面积多少平方米？",
    "How many backward Party branches have been transformed in Wenzhou?",
]
UPLOADS_DIR = "uploads"  # inside the index folder: the copies of uploaded files the index is built from
UPLOAD_TYPES = sorted(SUPPORTED)
UPLOAD_LABEL = ("text · HTML · PDF (scans by OCR) · Word · Excel/CSV · PowerPoint · EPUB · images · "
                ".doc/.xls/.ppt with LibreOffice")
CSS = """
.gradio-container { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.qa-short { font-size: 1.15em; margin: 0 0 .2em 0; }
.qa-citation, .qa-note { color: #555; font-size: .9em; margin: 0 0 .6em 0; }
.qa-notfound { color: #8a4b00; }
.qa-passage { border-left: 3px solid #c7d2fe; padding: .3em .6em; margin: .5em 0; }
.qa-cite { font-size: .85em; color: #444; }
.qa-score { color: #888; margin-left: .5em; }
.qa-sentence { background: #eef2ff; }
mark.qa-span { background: #fde047; font-weight: 600; padding: 0 .1em; }
"""


class ChatService:
    """Owns the assistant over one index: answers questions and adds uploaded files."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings = settings
        self.assistant = assistant or Assistant.open(settings)
        # One OCR engine; a file checked on upload is not read again to index it, nor after a restart.
        self.readers = Readers(cache=ExtractionCache(settings.index_dir / EXTRACTED_DIR), limits=settings.read)
        self._lock = threading.Lock()  # held only to take the assistant, or to swap it after an upload
        self._upload_lock = threading.Lock()  # one upload at a time in this process
        self._asking: dict[int, int] = {}  # questions running on each assistant (by id)
        self._retired: list[Assistant] = []  # replaced by an upload, closed when their last question ends

    def ask(self, question: str, top_k: int | None = None, mode: str | None = None) -> Answer:
        """Questions run in parallel (the index is read-only once open); each runs to its end on
        the assistant it started on, even if an upload swaps in a new one meanwhile."""
        with self._lock:
            assistant = self.assistant
            self._asking[id(assistant)] = self._asking.get(id(assistant), 0) + 1
        try:
            return assistant.ask(question, top_k=top_k, mode=mode)
        finally:
            with self._lock:
                self._asking[id(assistant)] -= 1
                self._close_idle()

    def swap(self, fresh: Assistant) -> None:
        """Answer from ``fresh`` from now on; questions already running finish on the old
        assistant, whose index is closed after the last of them."""
        with self._lock:
            self._retired.append(self.assistant)
            self.assistant = fresh
            self._close_idle()

    def _close_idle(self) -> None:
        """Release the connections of replaced assistants no question is using (lock held)."""
        for old in [a for a in self._retired if not self._asking.get(id(a))]:
            self._retired.remove(old)
            self._asking.pop(id(old), None)
            old.index.close()

    def documents(self) -> list[list]:
        return [[d.title, d.doc_id, d.chunks, d.meta.get("date", ""), d.meta.get("source", "")]
                for d in self.assistant.index.documents]

    def add_files(self, files: list[str], progress=None) -> str:
        """Clean, chunk and index uploaded files incrementally; bad files change nothing."""
        from .cleaning import clean
        from .loading import read_file
        from .schema import Skipped
        from .store import StoreError, build

        uploads = self.settings.index_dir / UPLOADS_DIR
        known = {d.doc_id for d in self.assistant.index.documents}
        messages, accepted = [], []
        limits = self.settings.upload
        if len(files or []) > limits.max_files:
            return f"✗ nothing added: {len(files)} files at once is over the limit of {limits.max_files}"
        for name in files or []:
            path = Path(name)  # only the base name is ever used: "../x" or "/etc/x" land in uploads/
            size = path.stat().st_size if path.is_file() else 0
            if size > limits.max_file_bytes:  # checked before reading, so memory stays bounded
                messages.append(f"✗ {path.name}: {_size(size)} is over the {_size(limits.max_file_bytes)} upload limit")
                continue
            if path.suffix.lower() not in SUPPORTED:
                messages.append(f"✗ {path.name}: unsupported file type (use {', '.join(UPLOAD_TYPES)})")
                continue
            raw = read_file(path, self.readers)
            if isinstance(raw, Skipped):
                messages.append(f"✗ {path.name}: {raw.reason}")
            elif path.name in known and not (uploads / path.name).exists():
                messages.append(f"✗ {path.name}: a document with this name is already indexed")
            elif not clean(raw).paragraphs:
                messages.append(f"✗ {path.name}: no article text found")
            else:
                accepted.append(path)
        if not accepted:
            return "\n".join(messages) or "No file selected."
        # The build runs outside the question lock: the live index keeps answering while the new
        # generation is written (its files stay readable through open handles once replaced),
        # and questions wait only for the swap.
        with self._upload_lock:
            failed = copy_uploads(accepted, uploads)
            if failed:
                return f"✗ nothing added: {failed}"
            sources = [Path(s) for s in self.assistant.index.manifest.get("sources", []) if Path(s).exists()]
            sources = list(dict.fromkeys([*sources, uploads.resolve()]))
            try:
                report = build(sources, self.settings, self.assistant.encoder, progress=progress is not None,
                               readers=self.readers)
            except StoreError as exc:  # another writer holds the index: take the copies back, say so
                for path in accepted:
                    (uploads / path.name).unlink(missing_ok=True)
                return f"✗ nothing added: {exc}"
            fresh = Assistant.open(self.settings, encoder=self.assistant.encoder)
            self.swap(fresh)
        messages.insert(0, f"✓ added {len(accepted)} file(s): {report.embedded} new passages embedded, "
                           f"{report.documents} documents in the index")
        return "\n".join(messages)


def copy_uploads(paths: list[Path], uploads: Path) -> str | None:
    """Copy uploaded files into the index's uploads/ all or none: each to a temporary name first,
    renamed only once every copy is whole, so a file found there is always complete. On a write
    error (a full disk) nothing of this upload stays, and the returned message says why; None
    when all were copied."""
    from .store import free_space

    parts = [uploads / f".{path.name}.part" for path in paths]
    try:
        uploads.mkdir(parents=True, exist_ok=True)
        for path, part in zip(paths, parts):
            shutil.copyfile(path, part)
    except OSError as exc:
        for part in parts:
            part.unlink(missing_ok=True)
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return (f"cannot copy the upload into {uploads}: {reason} ({free_space(uploads.parent)} free); "
                "the index is unchanged — free some space and upload again")
    for path, part in zip(paths, parts):
        os.replace(part, uploads / path.name)  # a rename within one folder: no space needed
    return None


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def ensure_index(settings: Settings, build_missing: bool = True) -> None:
    """Build the default seed index on first use, refresh it when seeds/ changed, and index
    uploads that an interrupted upload copied in but never indexed."""
    from .encoders import load_encoder
    from .store import StoreError, build, is_current, read_manifest

    try:
        manifest = read_manifest(settings.index_dir)
    except StoreError:
        manifest = None
    corpus = [p.resolve() for p in settings.corpus]
    if manifest is not None:
        sources = [Path(s) for s in manifest.get("sources", [])]
        pending = pending_uploads(settings.index_dir, manifest)
        if pending:
            print(f"{len(pending)} uploaded file(s) were kept but not indexed (an upload was interrupted): "
                  + ", ".join(p.name for p in pending), file=sys.stderr, flush=True)
            if not build_missing:
                return  # serve the index as it is; the next start without --no-build indexes them
            corpus = list(dict.fromkeys([*(s for s in sources if s.exists()), pending[0].parent.resolve()]))
        else:
            ours = sources and all(s in corpus or s.name == UPLOADS_DIR for s in sources)
            if not ours or is_current(sources, settings):
                return  # a user-built index, or an up-to-date seed index
            corpus = sources
    if not build_missing:
        raise SystemExit(f"qa: error: no usable index in {settings.index_dir}: run `qa index` first")
    print(f"Building the index of {', '.join(str(p) for p in corpus)}…", file=sys.stderr, flush=True)
    report = build(corpus, settings, load_encoder(settings.model, settings.encoder), progress=True,
                   on_stage=lambda msg: print(f"… {msg}", file=sys.stderr, flush=True))
    print(f"Index ready: {report.documents} documents, {report.chunks} passages.", file=sys.stderr, flush=True)


def pending_uploads(index_dir: Path, manifest: dict) -> list[Path]:
    """Files in the index's uploads/ that the live index does not hold as they are now (an upload
    copies files in before it indexes them; a kill in between leaves them here)."""
    from .loading import file_digest

    uploads = index_dir / UPLOADS_DIR
    if not uploads.is_dir():
        return []
    indexed = manifest.get("files", {})
    return [p for p in sorted(uploads.iterdir())
            if p.is_file() and not p.name.startswith(".")  # ".x.part": a copy that never completed
            and indexed.get(p.name) != file_digest(p)]


def build_ui(service: ChatService):
    import gradio as gr

    def respond(question: str, history: list, last: str | None, top_k: int, mode: str):
        from html import escape

        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            return "", history, last
        asked = resolve(question, last, service.assistant.analyzer.tokenizer)
        try:
            answer = service.ask(asked, top_k=int(top_k), mode=mode)
        except QuestionError as exc:
            gr.Warning(str(exc))
            return "", history, last
        shown = min(3, int(top_k))
        history = [*history, {"role": "user", "content": escape(question)},
                   {"role": "assistant", "content": answer_html(answer, shown, asked if asked != question else None)}]
        return "", history, asked

    def api_ask(question: str, top_k: int = 5, mode: str = "hybrid") -> dict:
        """Answer one question; returns the `qa ask --json` object."""
        try:
            return service.ask(question, top_k=int(top_k), mode=mode).to_json()
        except (QuestionError, ValueError) as exc:
            raise gr.Error(str(exc)) from exc

    def add(files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 - Gradio injects progress this way
        message = service.add_files([getattr(f, "name", f) for f in files or []], progress)
        return message, service.documents(), None

    with gr.Blocks(title="文档问答 · Cited answers from Chinese documents") as demo:
        last = gr.State(None)
        with gr.Sidebar(label="Settings and documents"):
            gr.Markdown("### Settings")
            top_k = gr.Slider(1, 10, value=5, step=1, label="Passages to retrieve (top-k)")
            mode = gr.Radio(["hybrid", "bm25", "dense"], value="hybrid", label="Retrieval mode")
            gr.Markdown("### Indexed documents")
            docs = gr.Dataframe(value=service.documents(), headers=["title", "file", "passages", "date", "source"],
                                interactive=False, wrap=True, elem_id="documents")
            gr.Markdown("### Add documents")
            upload = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label=UPLOAD_LABEL,
                             elem_id="upload")
            add_button = gr.Button("Add to index", elem_id="add-button")
            status = gr.Textbox(label="Upload status", interactive=False, lines=3, elem_id="upload-status")
        gr.Markdown("## 文档问答 · Ask the documents\nAnswers come only from the indexed documents, "
                    "each cited to its passage; when they do not say, you are told so.")
        chat = gr.Chatbot(height=560, label="Chat", elem_id="chat", group_consecutive_messages=False)
        with gr.Row():
            box = gr.Textbox(placeholder="Ask a question… 例如：温州后进支部转化了多少个", show_label=False,
                             scale=8, elem_id="question", autofocus=True)
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask-button")
        with gr.Row():
            for example in EXAMPLES:
                button = gr.Button(example, size="sm", elem_classes=["qa-example"])
                button.click(lambda q=example: q, outputs=box, api_visibility="private").then(
                    respond, [box, chat, last, top_k, mode], [box, chat, last], api_visibility="private")
        inputs, outputs = [box, chat, last, top_k, mode], [box, chat, last]
        send.click(respond, inputs, outputs, api_visibility="private")
        box.submit(respond, inputs, outputs, api_visibility="private")
        add_button.click(add, [upload], [status, docs, upload], api_visibility="private")
        demo.load(service.documents, outputs=docs, api_visibility="private")  # each page sees the current index
        gr.api(api_ask, api_name="ask")
    return demo


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, build_missing: bool = True) -> None:
    """Build or refresh the seed index when needed, then serve the chat until interrupted."""
    go_offline()  # before gradio is imported: no analytics, no telemetry
    ensure_index(settings, build_missing)
    import gradio as gr

    service = ChatService(settings)
    demo = build_ui(service)
    # Questions in parallel, one per core: the encoder, FAISS and BM25 release the GIL for their work.
    demo.queue(default_concurrency_limit=settings.serve.question_workers or available_cores())
    print(f"Web chat on http://{host}:{port}", file=sys.stderr, flush=True)
    demo.launch(server_name=host, server_port=port, show_error=True, ssr_mode=False, footer_links=["api"],
                css=CSS, theme=gr.themes.Default())
