"""Unit tests of the trainer worker's protocol layer (core/finetune/trainer/protocol.py), without torch."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "finetune", "trainer"))
import protocol  # noqa: E402

TORCH_OOM = (
    "CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 11.99 GiB total capacity; 5.69 GiB already allocated; "
    "4.93 GiB free; 5.80 GiB reserved in total by PyTorch)"
)
TORCH_OOM_NEW = "CUDA out of memory. Tried to allocate 1.50 GiB. GPU 0 has a total capacity of 23.64 GiB of which 1.10 GiB is free."


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError."""


class ParseTests(unittest.TestCase):
    def test_failed_allocation(self) -> None:
        self.assertEqual(protocol.failed_allocation_mb(TORCH_OOM), 20.0)
        self.assertEqual(protocol.failed_allocation_mb(TORCH_OOM_NEW), 1536.0)
        self.assertIsNone(protocol.failed_allocation_mb("something else"))

    def test_total_capacity(self) -> None:
        self.assertEqual(protocol.total_capacity_mb(TORCH_OOM), 12277.8)
        self.assertEqual(protocol.total_capacity_mb(TORCH_OOM_NEW), 24207.4)

    def test_is_out_of_memory(self) -> None:
        self.assertTrue(protocol.is_out_of_memory(OutOfMemoryError("x")))
        self.assertTrue(protocol.is_out_of_memory(RuntimeError(TORCH_OOM)))
        self.assertFalse(protocol.is_out_of_memory(ValueError("bad value")))


class ChannelTests(unittest.TestCase):
    def lines(self, f: io.StringIO) -> list[dict[str, object]]:
        return [json.loads(line) for line in f.getvalue().splitlines()]

    def test_messages_are_one_json_object_a_line(self) -> None:
        out = io.StringIO()
        ch = protocol.Channel(out)
        ch.start(mode="train", device="cuda:0", trainSamples=3, evalSamples=1, stepsPerEpoch=2, epochs=1, batchSize=2, gradAccumSteps=1, maxClipSeconds=11.6, resumedFrom=None)
        ch.progress(epoch=0, step=1, global_step=1, steps_per_epoch=2, loss=1.25, learning_rate=5e-6, samples_per_second=2.0, step_seconds=1.0,
                    max_allocated_mb=9000.04, max_reserved_mb=9500.0, longest_clip_seconds=10.1234, reserved_mb=9400.0, total_mb=12288.0)
        ch.checkpoint("/x/checkpoint_2.pth", 0, 2, "steps")
        ch.oom(RuntimeError(TORCH_OOM), peak_allocated_mb=11000.0, peak_reserved_mb=11500.0, total_mb=None, batch_size=4, longest_clip_seconds=11.0, global_step=3)
        ch.finished("/out/model.pth", "/x/checkpoint_2.pth", 1, 2)
        ch.failed("boom", "traceback text")
        msgs = self.lines(out)
        self.assertEqual([m["type"] for m in msgs], ["start", "progress", "checkpoint", "oom", "finished", "failed"])
        self.assertEqual(msgs[0]["protocol"], protocol.PROTOCOL)
        self.assertEqual(msgs[1]["maxAllocatedMb"], 9000.0)
        self.assertEqual(msgs[1]["globalStep"], 1)
        self.assertEqual(msgs[1]["longestClipSeconds"], 10.123)
        self.assertEqual(msgs[3]["failedAllocationMb"], 20.0)
        self.assertEqual(msgs[3]["totalMb"], 12277.8)
        self.assertEqual(msgs[3]["phase"], "forward")
        self.assertEqual(msgs[5]["detail"], "traceback text")

    def test_nan_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            protocol.Channel(io.StringIO()).eval(0, 1, float("nan"))


class ControlTests(unittest.TestCase):
    def test_commands(self) -> None:
        c = protocol.Control()
        self.assertEqual(c.apply('{"type":"pause"}'), "pause")
        self.assertTrue(c.paused)
        self.assertEqual(c.apply('{"type":"resume"}'), "resume")
        self.assertFalse(c.paused)
        self.assertIsNone(c.apply("not json"))
        self.assertIsNone(c.apply('{"type":"dance"}'))
        self.assertEqual(c.apply('{"type":"stop"}'), "stop")
        self.assertTrue(c.stop_requested)

    def test_pause_blocks_until_resume(self) -> None:
        c = protocol.Control()
        c.apply('{"type":"pause"}')
        events: list[str] = []
        t = threading.Thread(target=c.wait_while_paused, args=(lambda: events.append("paused"), lambda: events.append("resumed")))
        t.start()
        c.apply('{"type":"resume"}')
        t.join(timeout=10)
        self.assertFalse(t.is_alive())
        self.assertEqual(events, ["paused", "resumed"])

    def test_closed_stdin_means_stop(self) -> None:
        c = protocol.Control()
        c.listen(io.StringIO('{"type":"pause"}\n')).join(timeout=10)
        self.assertTrue(c.stop_requested)
        c.wait_while_paused()  # returns at once: stopping wins over pausing


class JobFileTests(unittest.TestCase):
    def write(self, job: dict[str, object]) -> str:
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(job, f)
        self.addCleanup(os.remove, path)
        return path

    def test_read_job(self) -> None:
        job = {"protocol": 1, "mode": "train", "baseModelDir": "b", "dataset": {}, "outDir": "o", "checkpointDir": "c", "trainerConfig": {"GPTTrainerConfig": {"batch_size": 2}}, "epochs": 1}
        read = protocol.read_job(self.write(job))
        self.assertEqual(protocol.setting(read, "GPTTrainerConfig", "batch_size"), 2)
        self.assertEqual(protocol.setting(read, "TrainerArgs", "grad_accum_steps", 1), 1)
        with self.assertRaisesRegex(ValueError, "protocol"):
            protocol.read_job(self.write({**job, "protocol": 2}))
        with self.assertRaisesRegex(ValueError, "lacks 'epochs'"):
            protocol.read_job(self.write({k: v for k, v in job.items() if k != "epochs"}))


if __name__ == "__main__":
    unittest.main()
