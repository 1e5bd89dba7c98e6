"""Tests that drive the engine as the host does: python -m unittest test_engine
(with Chorus's packages/sdk-python on PYTHONPATH, or from `chorus plugin check`)."""

import unittest

from chorus_sdk import BadOptionError, Cancelled, SynthesisRequest

import engine


class EngineTest(unittest.TestCase):
    def test_one_chunk_per_word(self) -> None:
        chunks = list(engine.create(None).synthesize(SynthesisRequest(text="one two three", voice="low"), Cancelled()))
        self.assertEqual(len(chunks), 3)
        self.assertEqual({c.sample_rate for c in chunks}, {16000})
        self.assertTrue(all(len(c.pcm) == 2 * 4000 for c in chunks))

    def test_bad_volume_names_the_option(self) -> None:
        with self.assertRaises(BadOptionError) as caught:
            list(engine.create(None).synthesize(SynthesisRequest(text="x", voice="low", options={"volume": 1.0}), Cancelled()))
        self.assertEqual(caught.exception.option, "volume")


if __name__ == "__main__":
    unittest.main()
