"""Chorus TTS for text-generation-webui.

Sends each finished reply to a Chorus server through its AllTalk-compatible API and puts an
<audio> element pointing at the Chorus URL into the chat, so Chorus may run on another machine.
HTTP uses only the Python standard library; text-generation-webui's own modules and Gradio are
imported in try/except, so this file also loads (and is tested) outside text-generation-webui.
"""
import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request

try:  # text-generation-webui's modules (absent when tested on its own)
    from modules import shared  # noqa: F401
    from modules.logging_colors import logger
except Exception:  # pragma: no cover - depends on the host program
    import logging

    shared = None
    logger = logging.getLogger("chorus_tts")

try:
    import gradio as gr
except Exception:  # pragma: no cover
    gr = None

params = {
    "display_name": "Chorus TTS",
    "is_tab": False,
    "activate": True,
    "server_url": "http://127.0.0.1:7851",
    "api_key": "",
    # Engine for this extension's requests (settings.yaml: chorus_tts-engine). Sent with each
    # request as `engine:voice`, so it applies from the start and leaves the server's default
    # (other clients) alone. Empty: the server's current engine.
    "engine": "",
    "voice": "en-us",
    "narrator_enabled": False,
    "narrator_voice": "en-gb",
    "text_not_inside": "character",
    "text_filtering": "standard",
    "language": "en",
    "show_text": True,
    "autoplay": True,
    "timeout": 120,
}


class ChorusError(Exception):
    """A request to Chorus failed; the message says why (and names the field when Chorus did)."""


class ChorusClient:
    """The few AllTalk-compatible calls the extension needs."""

    def __init__(self, base_url, api_key="", timeout=120):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _request(self, method, path, form=None, query=None):
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        if self.api_key:
            req.add_header("Authorization", "Bearer " + self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                return res.status, res.headers, res.read()
        except urllib.error.HTTPError as err:
            body = err.read()
            raise ChorusError("Chorus answered %d: %s" % (err.code, _error_text(body))) from None
        except (urllib.error.URLError, OSError) as err:
            raise ChorusError("cannot reach Chorus at %s: %s" % (self.base_url, getattr(err, "reason", err))) from None

    def _json(self, method, path, form=None, query=None):
        _, _, body = self._request(method, path, form, query)
        try:
            return json.loads(body)
        except ValueError:
            raise ChorusError("Chorus sent something that is not JSON from %s" % path) from None

    def ready(self):
        try:
            return self._request("GET", "/api/ready")[2].decode().strip() == "Ready"
        except ChorusError:
            return False

    def voices(self, engine=""):
        query = {"engine": engine} if engine else None
        return list(self._json("GET", "/api/voices", query=query).get("voices", []))

    def settings(self):
        return self._json("GET", "/api/currentsettings")

    def engines(self):
        return list(self.settings().get("engines_available", []))

    def reload(self, engine):
        return self._json("POST", "/api/reload", form={}, query={"tts_method": engine})

    def generate(self, text, voice, narrator_enabled=False, narrator_voice="", text_not_inside="character",
                 text_filtering="standard", language="en", output_file_name="tgwui", engine=""):
        """Synthesises `text` (with `engine` when given); returns the absolute URL of the WAV."""
        form = {
            "text_input": text,
            "text_filtering": text_filtering,
            "character_voice_gen": engine_voice(engine, voice),
            "narrator_enabled": "true" if narrator_enabled else "false",
            "narrator_voice_gen": engine_voice(engine, narrator_voice or voice),
            "text_not_inside": text_not_inside,
            "language": language,
            "output_file_name": output_file_name,
            "output_file_timestamp": "true",
            "autoplay": "false",
            "autoplay_volume": "0.8",
        }
        result = self._json("POST", "/api/tts-generate", form=form)
        if result.get("status") != "generate-success" or not result.get("output_file_url"):
            raise ChorusError("Chorus did not generate audio: %s" % json.dumps(result)[:300])
        return self.absolute(result["output_file_url"])

    def absolute(self, url):
        return url if re.match(r"^https?://", url) else self.base_url + "/" + url.lstrip("/")


def engine_voice(engine, voice):
    """`engine:voice` when an engine is chosen (Chorus accepts it on every route); a voice
    that already names its engine, or no engine chosen, is sent as it is."""
    engine = (engine or "").strip()
    voice = (voice or "").strip()
    if not engine or ":" in voice:
        return voice
    return "%s:%s" % (engine, voice)


def _error_text(body):
    try:
        err = json.loads(body).get("error")
        if isinstance(err, dict):
            field = err.get("field") or err.get("param")
            return err.get("message", "") + (" (field: %s)" % field if field else "")
        return str(err)
    except ValueError:
        return body[:200].decode("utf-8", "replace")


def client():
    return ChorusClient(params["server_url"], params.get("api_key", ""), params.get("timeout", 120))


def audio_html(url, autoplay):
    return '<audio src="%s" controls%s></audio>' % (html.escape(url, quote=True), " autoplay" if autoplay else "")


def _speakable(visible):
    """The reply as plain text: the visible reply arrives HTML-escaped."""
    text = html.unescape(visible)
    text = re.sub(r"<audio[^>]*>\s*</audio>", " ", text)
    return text.strip()


def output_modifier(string, state, is_chat=False):
    """Speaks the finished reply; returns the <audio> element (and the text when show_text)."""
    if not params["activate"]:
        return string
    text = _speakable(string)
    if not re.search(r"\w", text):
        return string
    try:
        url = client().generate(
            text,
            params["voice"],
            narrator_enabled=params["narrator_enabled"],
            narrator_voice=params["narrator_voice"],
            text_not_inside=params["text_not_inside"],
            text_filtering=params["text_filtering"],
            language=params["language"],
            engine=params.get("engine", ""),
        )
    except ChorusError as err:
        logger.error("Chorus TTS: %s", err)
        return string  # the chat goes on without audio
    player = audio_html(url, params["autoplay"])
    return player + ("\n\n" + string if params["show_text"] else "")


def history_modifier(history):
    """Older replies must not play again when the chat is redrawn: drop their autoplay."""
    for row in history.get("visible", []):
        if len(row) > 1 and isinstance(row[1], str):
            row[1] = row[1].replace(" controls autoplay>", " controls>")
    return history


def state_modifier(state):
    """Audio is made from the whole reply, so streaming the text is switched off while active."""
    if params["activate"]:
        state["stream"] = False
    return state


def setup():
    """Checks the server and the configured engine (params come from settings.yaml first)."""
    c = client()
    if not c.ready():
        logger.warning("Chorus TTS: no Chorus answering at %s yet", params["server_url"])
        return
    engine = (params.get("engine") or "").strip()
    if engine:
        try:
            engines = c.engines()
        except ChorusError as err:
            logger.error("Chorus TTS: %s", err)
            return
        if engine not in engines:
            logger.warning("Chorus TTS: engine '%s' is not installed on %s (it has: %s)", engine, params["server_url"], ", ".join(engines))
        else:
            logger.info("Chorus TTS: using engine %s", engine)


def ui():
    if gr is None:
        return None

    def refresh():
        c = client()
        try:
            voices = c.voices(params.get("engine", ""))
            return gr.update(choices=c.engines()), gr.update(choices=voices), gr.update(choices=voices)
        except ChorusError as err:
            logger.error("Chorus TTS: %s", err)
            return gr.update(), gr.update(), gr.update()

    def set_engine(engine):
        # Applied per request (engine:voice), like the settings.yaml value; the server's
        # default engine, which other clients use, is left as it is.
        params["engine"] = engine or ""

    with gr.Accordion("Chorus TTS", open=True):
        with gr.Row():
            activate = gr.Checkbox(value=params["activate"], label="Activate TTS")
            autoplay = gr.Checkbox(value=params["autoplay"], label="Play automatically")
            show_text = gr.Checkbox(value=params["show_text"], label="Show message text under audio")
            narrator = gr.Checkbox(value=params["narrator_enabled"], label="Narrator (*narration* / \"speech\")")
        with gr.Row():
            server = gr.Textbox(value=params["server_url"], label="Chorus server URL")
            engine = gr.Dropdown(value=params["engine"] or None, choices=[], label="Engine", allow_custom_value=True)
            voice = gr.Dropdown(value=params["voice"], choices=[params["voice"]], label="Voice", allow_custom_value=True)
            narrator_voice = gr.Dropdown(value=params["narrator_voice"], choices=[params["narrator_voice"]], label="Narrator voice", allow_custom_value=True)
            refresh_button = gr.Button("Refresh")

    activate.change(lambda x: params.update({"activate": x}), activate, None)
    autoplay.change(lambda x: params.update({"autoplay": x}), autoplay, None)
    show_text.change(lambda x: params.update({"show_text": x}), show_text, None)
    narrator.change(lambda x: params.update({"narrator_enabled": x}), narrator, None)
    server.change(lambda x: params.update({"server_url": x.strip()}), server, None)
    engine.change(set_engine, engine, None)
    voice.change(lambda x: params.update({"voice": x}), voice, None)
    narrator_voice.change(lambda x: params.update({"narrator_voice": x}), narrator_voice, None)
    refresh_button.click(refresh, None, [engine, voice, narrator_voice])
