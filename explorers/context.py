"""What every tab shares: the model and the library, loaded once, used under one lock; each
visitor's own library; and the rules for what comes from outside (uploads, server folders).

The shared library is the operator's: the app writes it only when started with
``--shared-library-writable`` (never the demo library that ships in ``assets/``). What a visitor
adds goes into a library of its own session, in ``CLAMP3_HOME/sessions/<session>`` with the
session's uploads, searched together with the shared one and removed when the page is closed, or
after ``CLAMP3_SESSION_HOURS`` idle.

The model is not thread-safe to call from several threads at once on the CPU without paying for
it twice in memory bandwidth, so encoding goes through one lock; Gradio's queue decides the
concurrency of the handlers around it. The shared library's maps are computed outside that lock,
in the background (``maps``, see :class:`clamp3.library.maps.BackgroundMaps`).

Settings, each an option of ``app.py`` and an environment variable (for a Hugging Face Space):
``CLAMP3_WEIGHTS``, ``CLAMP3_INDEX``, ``CLAMP3_TEXT_MODEL``, ``CLAMP3_MERT``, ``CLAMP3_ROOTS`` (server
folders the Library and Train tabs may read, separated by ``os.pathsep``; none by default),
``CLAMP3_HOME`` (uploads and training runs; default ``~/.cache/clamp3/app``), ``CLAMP3_MAX_UPLOAD_MB`` (default 50),
``CLAMP3_READ_ONLY=1`` (the Library and Train tabs change nothing, not even a visitor's own library;
the library is opened read-only, so it may lie on read-only storage),
``CLAMP3_SHARED_WRITABLE=1`` (the Library tab adds to and removes from the shared library, for one
user running the app on a library of their own), ``CLAMP3_MAX_SESSION_ITEMS`` (items of one
visitor's library; default 500), ``CLAMP3_SESSION_HOURS`` (a session idle this long is removed;
default 4), ``CLAMP3_ALLOW_MODEL_SWAP=1`` (the Train tab may serve a finished run's model to every
visitor; the visitors' own libraries, of the old model's vectors, are removed then),
``CLAMP3_MAX_PROMPTS`` (classes x templates of one classification; default 200),
``CLAMP3_MAX_FILES`` (files in one request; default 50), ``CLAMP3_MAX_SCORE_BARS`` (bars over all
voices of one score; ``app.py`` sets 20,000 unless given, the CLI's default is 200,000).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from clamp3 import SUPPORTED_EXTENSIONS, Embedder, Library, load_model
from clamp3.assets import is_demo_library
from clamp3.errors import Clamp3Error, InputError, describe
from clamp3.formats import read_many
from clamp3.io import collect_files
from clamp3.library import (
    DB_NAME,
    SET_PREFIX,
    SET_VALUE,
    Hit,
    is_milvus_target,
    mix_modalities,
    model_identity,
    open_library,
    set_field,
)
from clamp3.library.maps import BackgroundMaps
from clamp3.library.spaces import (
    BackgroundFill,
    Coverage,
    change_metadata,
    coverage,
    holds_model,
    open_space,
    spaces_folder,
)
from clamp3.retrieval import normalize

logger = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
OWN_PREFIX = "s"  # the page's ids of a visitor's own items: s1, s2, ... (the shared library's are plain numbers)
SWEEP_EVERY_SECONDS = 60.0  # idle sessions are looked for at most this often
READ_ONLY_APP = "this app is read-only (CLAMP3_READ_ONLY): the library and training cannot be changed"
SHARED_BY_OPERATOR = ("the shared library is changed by the operator only (clamp3 index add/remove, "
                      "or the app started with --shared-library-writable)")


# How the page names each setting an engine error's hint can point to (see clamp3.errors.Hint).
WORDS = {
    "weights": "the app's weights (--weights or CLAMP3_WEIGHTS when it starts)",
    "index": "the app's library (--index or CLAMP3_INDEX when it starts)",
    "classes": "the classes box (one a line)",
    "templates": "the templates box ({} stands for the class)",
    # a visitor cannot change these: the error alone is shown
    "text_model": "",
    "mert": "",
    "max_text_tokens": "",
    "out": "",
    "shard": "",
}


def upload_message(exc: Exception) -> str:
    """The one line a page shows for an error, with its hint in the page's words: for a file, its
    name and the reason, not the server's folder the upload was stored in."""
    if not isinstance(exc, InputError):
        return describe(exc, WORDS)
    folder = str(Path(exc.path).parent) + os.sep
    shown = InputError(Path(exc.path).name, exc.reason.replace(folder, ""), hint=exc.hint)
    return describe(shown, WORDS)


def safe_name(name: str) -> str:
    """A file name with no folder part, no leading dot and nothing but [A-Za-z0-9._-]."""
    stem = SAFE_NAME.sub("_", Path(name).name).lstrip(".") or "upload"
    return stem[:120]


UPLOAD_CHARACTERS = re.compile(r"[^\w.-]+")  # \w is any letter or digit of any script, and _
MAX_UPLOAD_NAME_BYTES = 200


def upload_name(name: str) -> str:
    """The name an upload is stored under: the user's own name where it is safe (letters and digits
    of any script, ``. - _``), with no folder part and no leading dot. A name that had to change, or
    to be shortened, gets 8 hex digits of the original name's hash before its extension, so two
    different uploads never share a stored name; the extension is always kept."""
    original = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    suffix = Path(original).suffix if len(Path(original).suffix) <= 16 else ""
    stem = UPLOAD_CHARACTERS.sub("_", original[: len(original) - len(suffix)]).lstrip(".") or "upload"
    suffix = UPLOAD_CHARACTERS.sub("_", suffix)
    changed = stem + suffix != original
    budget = MAX_UPLOAD_NAME_BYTES - len(suffix.encode()) - 9
    if len((stem + suffix).encode()) > MAX_UPLOAD_NAME_BYTES:
        stem, changed = stem.encode()[:budget].decode("utf-8", "ignore"), True
    if changed:
        stem += "-" + hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return stem + suffix


def item_key(item_id: int, own: bool) -> str:
    """An item's id as the page shows and accepts it: ``s12`` for the visitor's own, ``12`` for the shared library's."""
    return f"{OWN_PREFIX}{item_id}" if own else str(item_id)


@dataclass(frozen=True)
class Found(Hit):
    """A hit as the app shows it: of the shared library, or (``own``) of the visitor's own."""

    own: bool = False

    @property
    def key(self) -> str:
        return item_key(self.id, self.own)

    @classmethod
    def of(cls, hit: Hit, rank: int, own: bool) -> Found:
        return cls(**{**{f.name: getattr(hit, f.name) for f in fields(Hit)}, "rank": rank}, own=own)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "own": self.own, "key": self.key}


MAX_SAVED_SETS = 20  # selections one session keeps
MAX_LIBRARY_SETS = 200  # named sets the page may make in a library it may change (the CLI has no cap)
EXPORT_PREFIX = "search-"  # a session's download folder under the home's exports
# Download folders kept at most (each holds one result list, at most 500 rows as CSV and JSON, some
# hundred kB): the sweep removes the oldest beyond this.
EXPORT_FOLDERS_KEPT = 200


def merge_hits(groups: Iterable[tuple[list[Hit], bool]], k: int) -> list[Found]:
    """The hits of several libraries (each with whether it is the visitor's own) as one ranking by
    score, ``k`` in all, ranked from 1; on equal scores the earlier library's hit first."""
    pooled = sorted(((hit, own) for hits, own in groups for hit in hits), key=lambda pair: -pair[0].score)[:k]
    return [Found.of(hit, rank, own) for rank, (hit, own) in enumerate(pooled, 1)]


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")


def _unpack_quietly() -> None:
    from clamp3.assets import library_dir

    try:
        library_dir(unpack=True)
    except Clamp3Error as exc:
        logger.warning("%s", exc)


def is_item_id(value: object) -> bool:
    """Whether a value from the page can be an item's id: a whole number SQLite holds."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= int(value) < 2**63


def model_name(weights: str) -> str:
    """The name a visitor sees for weights: a preset's or a folder's or file's name, no server folder."""
    return Path(str(weights)).name or str(weights)


def serving_model(weights: str, text_model: str | None = None):
    """The model of ``weights`` with its tokenizer loaded (the model defers it to the first text):
    visitors send texts, and a tokenizer that cannot load is refused here, before it serves."""
    model = load_model(weights, text_model=text_model)
    model.tokenizer  # noqa: B018
    return model


def serve_space(base: Library, model, weights: str, text_model: str | None, mert: str | None, read_only: bool):
    """(base, space, filler) for weights whose vectors ``base`` does not hold: their space in it,
    created where missing, and the child process that fills it (None for a read-only app whose space
    lies beside its library: it serves what is there)."""
    beside = spaces_folder(base) == base.directory / "spaces"
    if read_only and beside:
        return base, open_space(base, model, create=False, read_only=True), None
    space = open_space(base, model)
    logger.info("%s holds no vectors of %s: serving its space %s (%s of %s items), filled in the background",
                base.directory, model_name(weights), space.directory, len(space), len(base))
    return base, space, BackgroundFill(base, space, weights, text_model, mert)


@dataclass
class Context:
    weights: str
    index: Path
    embedder: Embedder
    library: Library
    roots: list[Path] = field(default_factory=list)
    home: Path = field(default_factory=lambda: Path.home() / ".cache" / "clamp3" / "app")
    max_upload_mb: float = 50.0
    read_only: bool = False
    shared_writable: bool = False  # the Library tab writes the shared library (an operator's choice; never the demo)
    allow_model_swap: bool = False  # the Train tab may serve a trained model to every visitor (an operator's choice)
    max_prompts: int = 200  # classes x templates of one classification, checked before any is encoded
    max_files: int = 50  # files in one request (a Library add, a Compare set), checked before any is read
    max_session_items: int = 500  # items of one visitor's own library, checked before any file is read
    session_hours: float = 4.0  # a session folder idle this long is removed by the sweep
    lock: threading.RLock = field(default_factory=threading.RLock)  # the model's forward pass, the libraries, `sessions`
    sessions: dict[str, Library] = field(default_factory=dict)  # open libraries of the visitors, by session folder name
    swept_at: float = float("-inf")  # time.monotonic() of the last sweep
    loaded_in: float = 0.0
    maps: BackgroundMaps | None = None  # the shared library's maps, computed in the background (see load)
    # Weights whose vectors the library given does not hold are served from their space in it
    # (clamp3.library.spaces): ``library`` is then that space, ``base`` the library given, and
    # ``filler`` the child process that fills the space meanwhile.
    base: Library | None = None
    filler: BackgroundFill | None = None
    saved_sets: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # session -> name -> ids (the Map tab's)
    export_secret: str = field(default_factory=lambda: secrets.token_hex(32))  # makes the download folders' names
    mert: str | None = None  # the local MERT the app was given (--mert), for every model it serves
    pending: BackgroundFill | None = None  # the Train tab's newest model, filling its space before it takes over

    @classmethod
    def load(
        cls, weights: str | None = None, index: str | None = None, roots: list[str] | None = None,
        home: str | None = None, read_only: bool | None = None, allow_model_swap: bool | None = None,
        shared_writable: bool | None = None, text_model: str | None = None, mert: str | None = None,
    ) -> Context:
        """Arguments default to their environment variables, then to the embedded default. Weights
        whose vectors the library does not hold (the demo library under the official weights) are
        served from their space in it, filled in the background."""
        from clamp3.assets import EMBEDDED

        started = time.perf_counter()
        weights = weights or os.environ.get("CLAMP3_WEIGHTS") or EMBEDDED
        index = index or os.environ.get("CLAMP3_INDEX")
        if index is None:
            from clamp3.assets import default_index

            # The music (for playing and engraving results) unpacks in the background: search
            # needs only the database, so the first answer does not wait for it.
            index = default_index(weights, unpack=False)
            threading.Thread(target=_unpack_quietly, name="unpack-demo-music", daemon=True).start()
        if roots is None:
            roots = [r for r in os.environ.get("CLAMP3_ROOTS", "").split(os.pathsep) if r]
        home = home or os.environ.get("CLAMP3_HOME") or Path.home() / ".cache" / "clamp3" / "app"
        read_only = _flag("CLAMP3_READ_ONLY") if read_only is None else read_only
        allow_model_swap = _flag("CLAMP3_ALLOW_MODEL_SWAP") if allow_model_swap is None else allow_model_swap
        shared_writable = _flag("CLAMP3_SHARED_WRITABLE") if shared_writable is None else shared_writable
        text_model = text_model or os.environ.get("CLAMP3_TEXT_MODEL") or None
        mert = mert or os.environ.get("CLAMP3_MERT") or None
        model = serving_model(weights, text_model)
        # A read-only app opens its library read-only: it may lie on read-only storage, and is never
        # created; the demo library that ships in assets/ is never written (opening it to write would
        # bring its schema up to date in the file and write its vector file there).
        library = open_library(index, create=not read_only, read_only=read_only or is_demo_library(index))
        base = filler = None
        if holds_model(library, model_identity(model)) or is_milvus_target(index):  # (no spaces on Milvus: use_model refuses)
            library.use_model(model)
        else:
            base, library, filler = serve_space(library, model, weights, text_model, mert, read_only)
        lock = threading.RLock()
        context = cls(
            weights, Path(index), Embedder(model, batch_size=16, lock=lock, mert=mert), library, base=base, filler=filler, lock=lock,
            mert=mert,
            roots=[Path(r).resolve() for r in roots], home=Path(home),
            max_upload_mb=float(os.environ.get("CLAMP3_MAX_UPLOAD_MB", 50)), read_only=read_only,
            allow_model_swap=allow_model_swap, max_prompts=int(os.environ.get("CLAMP3_MAX_PROMPTS", 200)),
            max_files=int(os.environ.get("CLAMP3_MAX_FILES", 50)), shared_writable=shared_writable,
            max_session_items=int(os.environ.get("CLAMP3_MAX_SESSION_ITEMS", 500)),
            session_hours=float(os.environ.get("CLAMP3_SESSION_HOURS", 4)),
            maps=BackgroundMaps(library),
        )
        if shared_writable and is_demo_library(index):
            logger.warning("--shared-library-writable: the demo library in assets/ is never written; give --index DIR")
        if filler is not None:  # (CLAMP3_FILL_START_DELAY: seconds before it starts; the tests hold it back)
            delay = float(os.environ.get("CLAMP3_FILL_START_DELAY", "0"))
            starter = threading.Timer(delay, filler.start)
            starter.daemon = True
            starter.start()
        context.sweep_sessions()  # sessions of an earlier run of the app, idle since
        context.loaded_in = time.perf_counter() - started
        logger.info("loaded %s and %s (%d items) in %.1f s", weights, index, len(library), context.loaded_in)
        return context

    # --- a space being filled -------------------------------------------------------------------
    def coverage(self) -> Coverage | None:
        """How much of the library given the served space holds; None when the library holds the model itself."""
        with self.lock:
            if self.base is None:
                return None
            return coverage(self.base, self.library)

    def coverage_line(self) -> str:
        """``searched 3,120 of 12,814 items (...)`` while the space lacks items; empty otherwise."""
        held = self.coverage()
        return held.line(model_name(self.weights)) if held is not None else ""

    def answered_by(self) -> str:
        """The model that answers, as a visitor sees it, and its space where it is served from one."""
        with self.lock:
            name = model_name(self.weights)
            if self.base is None:
                return name
            return f"{name}, space {self.library.meta().get('fingerprint', '?')}"

    def filling(self) -> bool:
        held = self.coverage()
        return held is not None and not held.complete

    def refresh_maps(self) -> None:
        """Compute the maps missing from the cache (the app does so a while after its start), unless
        the space served is being filled: its map is computed at the first draw once it is complete."""
        if not self.filling():
            self.maps.refresh()

    def item_vector(self, item_id: int, own: bool = False, session: str | None = None) -> np.ndarray:
        """(1, D) unit vector of an item of the shared library (or, ``own``, of ``session``'s), for
        "more like this"; the id came from the page: one that is not there gets a message."""
        if not is_item_id(item_id):
            raise Clamp3Error("more like this: an item's id is a whole number")
        with self.lock:
            library = self.session_library(session) if own else self.library
            if library is None or not library.items_by_id([int(item_id)]):
                raise Clamp3Error(f"no item {item_id} in {'your library' if own else 'the library'}")
            return library.vectors_of([int(item_id)])

    # --- the model ------------------------------------------------------------------------------
    def encode_text(self, text: str) -> np.ndarray:
        """(1, D) unit vector of a query text."""
        return self.encode_texts([text])

    # Reading, converting, tokenising and patching need no model: they run outside the lock, so a slow
    # file or text holds up only its own request; the embedder holds the lock for the model's forward pass.
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        embedder = self.embedder
        return normalize(np.concatenate(embedder.embed_prepared(embedder.prepare_texts(texts)), axis=0))

    def encode_file(self, path: str | Path) -> np.ndarray:
        """(1, D) unit vector of an uploaded file (its first item, for a tune book)."""
        path = Path(self.check_upload(path))
        # Read, converted or decoded in a child process within the read limits app.py sets, outside the lock.
        ((_, items, errors),) = read_many([path])
        if errors:
            raise errors[0]
        if not items:
            raise Clamp3Error(f"{path.name}: no music found in the file")
        embedder = self.embedder
        (vector,) = embedder.embed_prepared([embedder.prepare(items[0])])
        return normalize(vector.reshape(1, -1))

    def check_count(self, paths: Collection) -> None:
        """At most ``max_files`` files in one request, refused before any is read."""
        if len(paths) > self.max_files:
            raise Clamp3Error(f"{len(paths)} files in one request, over the limit of {self.max_files}")

    def encode_files(self, paths: list[str | Path]) -> tuple[list[str], np.ndarray, list[str]]:
        """Names, (N, D) unit vectors and one-line failures of several uploads (bad ones skipped)."""
        self.check_count(paths)
        names, vectors, failures = [], [], []
        for path in paths:
            try:
                vectors.append(self.encode_file(path)[0])
                names.append(Path(path).name)
            except Clamp3Error as exc:
                failures.append(upload_message(exc))
        dim = self.embedder.model.config.projection_size
        return names, (np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)), failures

    def search(
        self, vector: np.ndarray, k: int, modality: str | None = None, where: dict[str, str] | None = None,
        session: str | None = None, keyword: str | None = None, mixed: bool = False, within: str | None = None,
    ) -> list[Found]:
        """The ``k`` best items of the shared library and of ``session``'s own library together, by
        score; ``mixed`` (no ``modality``): all modalities, fairly, as ``Library.search_mixed`` ranks one
        library; ``within``: only the items of the saved selection of that name (of the shared library),
        as a filter ``set:NAME`` = yes in ``where`` of one of the session's (see :meth:`kept_to`)."""
        where, chosen = self.kept_to(session, where, within)
        with self.lock:
            own = self.session_library(session) if session and chosen is None else None
            # an empty shared library is an error only when nothing else is searched, and not while its
            # space is being filled (the line under the results says how much was searched: nothing yet)
            searched = [] if self.base is not None and not len(self.library) else [(self.library, False)]
            if own is not None and len(own):
                if not len(self.library):
                    searched = []
                searched.append((own, True))
            if not searched:
                return []
            modalities = sorted({m for library, _ in searched for m in library.modalities()})
            if not (mixed and not modality and modalities):
                found = [library.search(vector, k, modality, where, keyword=keyword, within=None if mine else chosen)[0]
                         for library, mine in searched]
                return merge_hits([(hits, mine) for hits, (_, mine) in zip(found, searched)], k)
            # all modalities: each modality's hits of both libraries as one ranking by cosine first (so
            # the calibration's 1 is the best of both), then the modalities merged by calibrated score;
            # a visitor's few items of a modality are calibrated on the shared library's where it has some
            unit = normalize(np.atleast_2d(np.asarray(vector, dtype=np.float32)))
            per_modality, means = [], []
            for m in modalities:
                holders = [(library, mine) for library, mine in searched if m in library.modalities()]
                per_modality.append(merge_hits([(library.search(vector, k, m, where, keyword=keyword,
                                                                within=None if mine else chosen)[0], mine)
                                                for library, mine in holders], k))
                calibration = self.library if m in self.library.modalities() else holders[0][0]
                means.append(float(calibration.mean_scores(unit, m)[0]))
            return mix_modalities(per_modality, means, k)

    def kept_to(
        self, session: str | None, where: dict[str, str] | None, within: str | None,
    ) -> tuple[dict[str, str] | None, list[int] | None]:
        """(the library's filter, the ids a search keeps to or None) of a filter ``where`` and a saved
        selection ``within``. A selection is a set, the field ``set:NAME`` = yes: a set of the library
        stays in the filter (read from its index); the session's own, which the library does not
        hold, become the ids of their members (intersected)."""
        where, own = dict(where or {}), self.session_sets(session)
        if within:
            key = set_field(within)
            if key not in own:
                with self.lock:  # (the connection every thread shares)
                    held = key[len(SET_PREFIX):] in self.library.sets()
            if key not in own and not held:
                raise Clamp3Error(f"no saved selection named '{str(within)[:40]}'")
            where[key] = SET_VALUE
        chosen, kept = None, {}
        for key, value in where.items():
            if key in own:
                members = set(own[key]) if value == SET_VALUE else set()
                chosen = members if chosen is None else chosen & members
            else:
                kept[key] = value
        return kept or None, None if chosen is None else sorted(chosen)

    def fields(self, session: str | None = None) -> list[str]:
        """The library's metadata keys, most common first, then the fields of ``session``'s own saved selections."""
        with self.lock:
            fields = self.library.fields()
        return fields + sorted(set(self.session_sets(session)) - set(fields)) if session else fields

    def field_values(self, key: str, limit: int = 500) -> list[str]:
        """The values of one metadata field of the library, most common first."""
        with self.lock:
            return self.library.field_values(key, limit)

    def swap(self, weights: str, library: Library, base: Library | None = None, filler: BackgroundFill | None = None,
             model=None) -> None:
        """Serve other weights and their library (or their ``library`` space in ``base``, which
        ``filler`` fills) from now on. The visitors' own libraries hold the old model's vectors:
        their sessions are ended."""
        model = model if model is not None else serving_model(weights)
        library.use_model(model)
        with self.lock:
            self.library = library
            self.index = (base or library).directory
            old_filler, self.base, self.filler = self.filler, base, filler
            old, self.maps = self.maps, BackgroundMaps(library)
            if old is not None:
                old.close()
            if old_filler is not None and old_filler is not filler:
                old_filler.close()
            self.refresh_maps()
            self.embedder = Embedder(model, batch_size=16, lock=self.lock, mert=self.mert)
            root = self.home / "sessions"
            for name in set(self.sessions) | {p.name for p in (root.iterdir() if root.is_dir() else [])}:
                self.end_session(name)
            self.weights = weights  # last: a reader without the lock that sees the new weights sees the rest of the swap

    def serve(self, weights: str, at_once: bool = False, poll: float = 2.0) -> str:
        """Serve other weights (the Train tab's last step) from their space in the library given,
        filled in the background: the model served now answers until the space is complete, then
        the new one takes over; ``at_once``, the new one answers at once from the items embedded so
        far. Returns a line for the page."""
        model = serving_model(weights)
        name = model_name(weights)
        with self.lock:
            base = self.base or self.library
        if holds_model(base, model_identity(model)):  # (the library is of these weights: nothing to embed)
            self.swap(weights, base, model=model)
            return f"serving {name}"
        space = open_space(base, model)
        filler = BackgroundFill(base, space, weights, mert=self.mert)
        with self.lock:  # the newest request wins: a model still filling for an earlier one is dropped
            earlier, self.pending = self.pending, filler
            held = coverage(base, space)
        if earlier is not None:
            earlier.close()
        filler.start()
        if at_once:
            with self.lock:
                self.pending = None
            self.swap(weights, space, base, filler, model)
            return f"serving {name}: {held.items:,} of {held.total:,} items embedded so far, the rest in the background"

        def take_over() -> None:
            while filler.running:
                time.sleep(poll)
            with self.lock:
                current = self.pending is filler
                complete = current and coverage(base, space).complete
                if current:
                    self.pending = None
            if complete:
                self.swap(weights, space, base, filler, model)
                logger.info("serving %s: its space of %s is complete", name, base.directory)
            elif current:
                logger.warning("the space of %s was not completed (%s): the current model goes on", name, filler.log)

        threading.Thread(target=take_over, name="clamp3-take-over", daemon=True).start()
        return (f"embedding the library's {held.total:,} items with {name} in the background ({held.items:,} done); "
                f"the current model answers until then")

    # --- the visitors' own libraries ------------------------------------------------------------
    def session_folder(self, session: str) -> Path:
        """Everything of one visitor's session, its uploads and its own library: removed with it."""
        return self.home / "sessions" / safe_name(session or "anonymous")

    def upload_folder(self, session: str, lasting: bool = False) -> Path:
        """Where a session's uploads are stored: in its session folder, or, ``lasting`` (files the
        shared library keeps), in ``uploads/`` under the session's name, which outlives it."""
        if lasting:
            return self.home / "uploads" / safe_name(session or "anonymous")
        return self.session_folder(session) / "uploads"

    def session_library(self, session: str, create: bool = False) -> Library | None:
        """The visitor's own library, opened once (``None`` while it has none, unless ``create``).
        Each use keeps the session from the idle sweep, which runs here when it is due."""
        folder = self.session_folder(session)
        with self.lock:
            if time.monotonic() - self.swept_at > SWEEP_EVERY_SECONDS:
                self.sweep_sessions()
            library = self.sessions.get(folder.name)
            if library is None and (create or (folder / DB_NAME).exists()):
                library = self.sessions[folder.name] = Library.open(folder, model=self.embedder.model, create=True)
            if library is not None:
                os.utime(folder)
            return library

    def check_session_room(self, session: str, files: int) -> None:
        """At most ``max_session_items`` items in a visitor's library, refused before any file is
        read: the items there and one for each file asked for (a tune book's tunes count once added)."""
        with self.lock:
            library = self.session_library(session)
            held = len(library) if library is not None else 0
        if held + files > self.max_session_items:
            raise Clamp3Error(f"your library holds {held} items; {files} more files would pass its limit of "
                              f"{self.max_session_items} items (remove some first)")

    def search_passages(
        self, vector: np.ndarray, k: int, modality: str | None = None, where: dict[str, str] | None = None,
        keyword: str | None = None, session: str | None = None, within: str | None = None,
    ) -> list[Found]:
        """The shared library's ``k`` best items by their best passage (``clamp3.passages``), each
        with where its window lies (bars, or seconds of MIDI and audio), under the library's filters (its
        sets too, see :meth:`kept_to`); a library without passages says so."""
        from clamp3.library import LibraryError
        from clamp3.passages import search_passages

        where, chosen = self.kept_to(session, where, within)
        if chosen is not None:
            raise Clamp3Error("find passages keeps to the library's fields and sets, not to a selection saved for this "
                              "session only: search without 'find passages'")
        with self.lock:
            try:
                hits = search_passages(self.library, vector, k, modality, where, keyword)[0]
            except LibraryError as exc:
                raise Clamp3Error(f"{self.index.name} has no passages: its operator builds them with "
                                  "'clamp3 index passages' (search without 'find passages' meanwhile)") from exc
        return [Found.of(hit, hit.rank, False) for hit in hits]

    # --- selections saved on the map: named sets -----------------------------------------------
    def save_set(self, session: str | None, name: str, ids: Iterable[int]) -> tuple[int, bool]:
        """Keep a selection of the shared library's items under ``name`` (the same name replaces it):
        as a named set of the library itself (``Library.tag``: the field ``set:NAME`` = yes, which
        search, maps and the CLI filter by) where the page may change the shared library (see
        :meth:`writable_shared`), else for the session only (at most MAX_SAVED_SETS), going with it.
        Names follow the library's rule either way. Returns its size and whether it is in the library."""
        name = " ".join((name or "").split())
        if not name:
            raise Clamp3Error("name the selection (1 to 40 characters)")
        name = set_field(name)[len(SET_PREFIX):]  # the library's rule for a set's name, for a session's selection too
        ids = sorted({int(i) for i in ids})
        if not ids:
            raise Clamp3Error("the selection is empty: select points on the map first (box or lasso)")
        if self.shared_refusal() is None:
            with self.lock:
                library, base = self.library, self.base
                held = library.sets()
                if name not in held and len(held) >= MAX_LIBRARY_SETS:  # every save rewrites its members' metadata
                    raise Clamp3Error(f"the library has {len(held):,} named sets: save under a name in use to replace one "
                                      "(or remove sets with 'clamp3 index tag --remove')")
                if base is None:
                    library.tag(ids, name, replace=True)
                else:  # the space's metadata is the library's: the set goes into both, the space stays complete
                    change_metadata(base, lambda held: held.tag(ids, name, replace=True), spaces=[library])
                self.maps.changed()
            return len(ids), True
        self.session_folder(session).mkdir(parents=True, exist_ok=True)  # so the idle sweep ends it too
        with self.lock:
            saved = self.saved_sets.setdefault(safe_name(session or "anonymous"), {})
            if name not in saved and len(saved) >= MAX_SAVED_SETS:
                raise Clamp3Error(f"{MAX_SAVED_SETS} selections saved already: save under a name in use to replace one")
            saved[name] = ids
        return len(ids), False

    def saved_set(self, session: str | None, name: str) -> list[int]:
        """The ids of a saved selection: the session's of that name, else the library's set."""
        with self.lock:
            saved = self.saved_sets.get(safe_name(session or "anonymous"), {})
            if name in saved:
                return list(saved[name])
            if name in self.library.sets():
                return self.library.set_members(name).tolist()
        raise Clamp3Error(f"no saved selection named '{str(name)[:40]}'")

    def saved_names(self, session: str | None) -> list[str]:
        """The names of the session's saved selections and of the library's sets."""
        with self.lock:
            return sorted(set(self.saved_sets.get(safe_name(session or "anonymous"), {})) | set(self.library.sets()))

    def session_sets(self, session: str | None) -> dict[str, list[int]]:
        """The session's own saved selections as the library's sets are named: field ``set:NAME`` -> ids
        (a map colours by them, a search filters by them as by the library's)."""
        with self.lock:
            return {set_field(name): list(ids) for name, ids in self.saved_sets.get(safe_name(session or "anonymous"), {}).items()}

    def export_folder(self, session: str) -> Path:
        """Where the session's downloads are written: under ``exports``, the one folder of the home
        the app serves, so its name is one no one can guess. Removed with the session."""
        secret = self.export_secret
        token = hashlib.sha256(f"{secret}:{safe_name(session or 'anonymous')}".encode()).hexdigest()[:32]
        return self.home / "exports" / f"{EXPORT_PREFIX}{token}"

    def end_session(self, session: str) -> bool:
        """Close and remove the session's own library, uploads and downloads; whether it had a folder."""
        folder = self.session_folder(session)
        with self.lock:
            self.saved_sets.pop(folder.name, None)
            library = self.sessions.pop(folder.name, None)
            if library is not None:
                library.close()
            existed = folder.is_dir()
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(self.export_folder(session), ignore_errors=True)
        if existed:
            logger.info("session %s ended: its library and uploads removed", folder.name)
        return existed

    def sweep_sessions(self, now: float | None = None) -> list[str]:
        """End every session idle for longer than ``session_hours`` (a page closed without its unload
        event reaching the app, an API client, an earlier run of the app); returns their names."""
        now = time.time() if now is None else now
        root, ended = self.home / "sessions", []
        with self.lock:
            self.swept_at = time.monotonic()
            for folder in sorted(root.iterdir()) if root.is_dir() else []:
                try:
                    idle = now - folder.stat().st_mtime
                except OSError:  # removed meanwhile
                    continue
                if idle > self.session_hours * 3600 and self.end_session(folder.name):
                    ended.append(folder.name)
            self._sweep_exports(now)
        return ended

    def _sweep_exports(self, now: float) -> None:
        """Remove session download folders idle longer than ``session_hours`` (a session that only
        searched has no session folder to end), and the oldest beyond EXPORT_FOLDERS_KEPT."""
        root = self.home / "exports"
        folders = []
        for folder in root.glob(f"{EXPORT_PREFIX}*") if root.is_dir() else []:
            try:
                folders.append((folder.stat().st_mtime, folder))
            except OSError:  # removed meanwhile
                continue
        folders.sort(reverse=True)  # newest first
        for rank, (changed, folder) in enumerate(folders):
            if rank >= EXPORT_FOLDERS_KEPT or now - changed > self.session_hours * 3600:
                shutil.rmtree(folder, ignore_errors=True)

    # --- what comes from outside ----------------------------------------------------------------
    def check_upload(self, path: str | Path, extensions: Collection[str] = SUPPORTED_EXTENSIONS) -> Path:
        """An uploaded file of a supported type (``extensions``) and within the size limit, or a one-line error."""
        path = Path(path)
        if path.suffix.lower() not in extensions:
            kinds = " ".join(sorted(extensions))
            raise InputError(Path(path.name), f"unsupported file type '{path.suffix or '(none)'}'; supported: {kinds}")
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputError(Path(path.name), f"cannot be read ({exc.strerror or exc})") from exc
        if size > self.max_upload_mb * 2**20:
            raise InputError(Path(path.name), f"{size / 2**20:.1f} MB is over the upload limit of {self.max_upload_mb:g} MB")
        return path

    def store_uploads(
        self, paths: list[str | Path], session: str, extensions: Collection[str] = SUPPORTED_EXTENSIONS,
        lasting: bool = False,
    ) -> tuple[list[Path], list[str]]:
        """Copy checked uploads into this session's own folder under sanitised names (``lasting``:
        see :meth:`upload_folder`)."""
        self.check_count(paths)
        folder = self.upload_folder(session, lasting)
        folder.mkdir(parents=True, exist_ok=True)
        if not lasting:
            os.utime(folder.parent)  # the session is in use: not idle for the sweep
        stored, failures = [], []
        for path in paths:
            try:
                self.check_upload(path, extensions)
            except InputError as exc:
                failures.append(str(exc))
                continue
            target = folder / upload_name(Path(path).name)
            tmp = target.with_name(f".{target.name}.part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
            stored.append(target)
        return stored, failures

    def shown(self, text: str, session: str) -> str:
        """``text`` for the page: a file of the session's uploads by its name, the app's home as
        ``~``; no server folder of the app reaches a visitor."""
        for folder in (self.upload_folder(session), self.upload_folder(session, lasting=True)):
            text = text.replace(str(folder) + os.sep, "")
        return text.replace(str(self.home), "~")

    def server_path(self, text: str) -> Path:
        """A server file or folder, refused unless it lies (symlinks resolved) under an allowed root."""
        if not self.roots:
            raise Clamp3Error("server folders are off: start the app with --roots DIR (or CLAMP3_ROOTS) to allow some")
        path = Path(text.strip()).expanduser()
        resolved = path.resolve()
        if not self.under_roots(resolved):
            allowed = ", ".join(str(r) for r in self.roots)
            raise Clamp3Error(f"{text.strip()}: outside the allowed folders ({allowed})")
        if not resolved.exists():
            raise Clamp3Error(f"{text.strip()}: no such file or folder")
        return resolved

    def under_roots(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == root or resolved.is_relative_to(root) for root in self.roots)

    def server_files(self, text: str, extensions: Collection[str] = SUPPORTED_EXTENSIONS) -> tuple[list[Path], list[str]]:
        """The files of a server file or folder (under an allowed root), each one checked: a link
        inside a root that leads outside every root is refused with a line, not followed."""
        folder = self.server_path(text)
        files, _ = collect_files([folder], extensions)
        kept, refused = [], []
        for file, _ in files:
            if self.under_roots(file):
                kept.append(file)
            else:
                refused.append(f"{file.relative_to(folder) if folder.is_dir() else file.name}: leads outside the allowed folders; not read")
        return kept, refused

    def writable(self) -> None:
        if self.read_only:
            raise Clamp3Error(READ_ONLY_APP)

    def writable_shared(self) -> None:
        """The shared library may be changed from the page: not read-only, allowed by the operator,
        and not the demo library that ships in ``assets/`` (which stays as released)."""
        refusal = self.shared_refusal()
        if refusal is not None:
            raise Clamp3Error(refusal)

    def shared_refusal(self) -> str | None:
        """Why the page may not change the shared library (:meth:`writable_shared`), or None."""
        if self.read_only:
            return READ_ONLY_APP
        if not self.shared_writable:
            return SHARED_BY_OPERATOR
        if is_demo_library(self.index):
            return ("the demo library that ships in assets/ is never changed by the app: "
                    "start it with a library of your own (--index DIR) to change that")
        return None
