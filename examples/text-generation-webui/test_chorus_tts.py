"""HTTP logic of the Chorus TTS extension, against a running Chorus (CHORUS_URL).

Run by the project's tests (tests/compat/tgwui-extension.test.ts starts Chorus and sets
CHORUS_URL); by hand: CHORUS_URL=http://127.0.0.1:7851 python3 -m unittest -v test_chorus_tts
"""
import os
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "chorus_tts"))
import script  # noqa: E402

CHORUS_URL = os.environ.get("CHORUS_URL", "")


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as res:
        return res.status, res.headers.get("Content-Type"), res.read()


@unittest.skipUnless(CHORUS_URL, "set CHORUS_URL to a running Chorus")
class ChorusExtensionTest(unittest.TestCase):
    def setUp(self):
        self.saved = dict(script.params)
        script.params.update({"server_url": CHORUS_URL, "engine": "", "voice": "en-us", "narrator_voice": "en-gb", "activate": True,
                              "autoplay": True, "show_text": True, "narrator_enabled": False})

    def tearDown(self):
        script.params.clear()
        script.params.update(self.saved)

    def test_ready_voices_engines(self):
        c = script.client()
        self.assertTrue(c.ready())
        self.assertIn("en-us", c.voices())
        self.assertIn("espeak", c.engines())

    def test_generate_returns_absolute_url_of_a_wav(self):
        url = script.client().generate("Hello from the extension test.", "en-us")
        self.assertTrue(url.startswith(CHORUS_URL + "/audio/"), url)
        status, ctype, body = fetch(url)
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "audio/wav")
        self.assertEqual(body[:4], b"RIFF")
        self.assertGreater(len(body), 44 + 22050)  # more than half a second of audio

    def test_output_modifier_unescapes_and_returns_audio_pointing_at_chorus(self):
        visible = "&quot;Hi there,&quot; she says. *waves* It&#x27;s 5 &lt; 6."
        out = script.output_modifier(visible, {}, is_chat=True)
        self.assertRegex(out, r'^<audio src="%s/audio/tgwui_[^"]+\.wav" controls autoplay></audio>' % CHORUS_URL)
        self.assertTrue(out.endswith("\n\n" + visible))
        src = out.split('"')[1]
        self.assertEqual(fetch(src)[2][:4], b"RIFF")

    def test_options_show_text_autoplay_narrator(self):
        script.params.update({"show_text": False, "autoplay": False, "narrator_enabled": True})
        out = script.output_modifier('*She nods.* &quot;Yes.&quot;', {})
        self.assertRegex(out, r'^<audio src="[^"]+" controls></audio>$')
        script.params["activate"] = False
        self.assertEqual(script.output_modifier("untouched", {}), "untouched")

    def test_history_modifier_removes_autoplay(self):
        history = {"internal": [["hi", "hello"]], "visible": [["hi", '<audio src="x" controls autoplay></audio>\n\nhello']]}
        out = script.history_modifier(history)
        self.assertEqual(out["visible"][0][1], '<audio src="x" controls></audio>\n\nhello')

    def test_state_modifier_turns_streaming_off(self):
        self.assertEqual(script.state_modifier({"stream": True})["stream"], False)

    def test_errors_name_the_field_and_the_chat_survives(self):
        with self.assertRaises(script.ChorusError) as ctx:
            script.client().generate("Hello.", "no-such-voice")
        self.assertIn("character_voice_gen", str(ctx.exception))
        script.params["voice"] = "no-such-voice"
        self.assertEqual(script.output_modifier("Hello.", {}), "Hello.")

    def test_unreachable_server_degrades(self):
        script.params["server_url"] = "http://127.0.0.1:9"
        self.assertFalse(script.client().ready())
        self.assertEqual(script.output_modifier("Hello.", {}), "Hello.")
        with self.assertRaises(script.ChorusError) as ctx:
            script.client().voices()
        self.assertIn("cannot reach Chorus", str(ctx.exception))

    def test_reload_switches_engine(self):
        c = script.client()
        self.assertEqual(c.reload("flite"), {"status": "model-success"})
        try:
            self.assertEqual(c.settings()["current_engine_loaded"], "flite")
        finally:
            c.reload("espeak")

    def test_engine_setting_applies_without_the_dropdown(self):
        # As text-generation-webui does: settings.yaml's chorus_tts-engine lands in params, then setup().
        script.params["engine"] = "flite"
        script.setup()
        out = script.output_modifier("Spoken by the configured engine.", {})
        src = out.split('"')[1]
        wav = fetch(src)[2]
        self.assertEqual(int.from_bytes(wav[24:28], "little"), 16000)  # Flite's rate; eSpeak's is 22050
        self.assertEqual(script.client().settings()["current_engine_loaded"], "espeak")  # the server default is untouched
        self.assertIn("slt", script.client().voices("flite"))

    def test_engine_voice(self):
        self.assertEqual(script.engine_voice("flite", "awb"), "flite:awb")
        self.assertEqual(script.engine_voice("flite", "espeak:en-us"), "espeak:en-us")
        self.assertEqual(script.engine_voice("", "en-us"), "en-us")

    def test_ui_without_gradio_does_not_fail(self):
        if script.gr is None:
            self.assertIsNone(script.ui())


if __name__ == "__main__":
    unittest.main()
