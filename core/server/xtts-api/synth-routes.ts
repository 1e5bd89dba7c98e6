/**
 * Synthesis routes: POST /tts_to_audio/ (a whole WAV), GET /tts_stream (a WAV a browser's
 * <audio> plays as it arrives), POST /tts_to_file (a WAV written into the output folder).
 * All audio is mono 16-bit PCM at 24 kHz, as XTTS makes it.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { streamAudio, wholeAudio } from "../../audio/output/index.ts";
import type { SpeechStream } from "../../synth/pipeline.ts";
import { abortOnDisconnect, speechHeaders } from "../routes/speech.ts";
import { Detail } from "./errors.ts";
import { loggingFailure } from "../errors.ts";
import { FILE_FIELDS, SYNTH_FIELDS, parseModel } from "./fields.ts";
import { confine } from "./folders.ts";
import { XTTS_RATE, speak } from "./speak.ts";
import type { XttsContext } from "./context.ts";

/** The whole WAV at XTTS's rate (the output stage resamples the engine's chunks once). */
async function collect(speech: SpeechStream): Promise<Buffer> {
  return (await wholeAudio(speech, { format: "wav", sampleRate: XTTS_RATE })).body;
}

function audioHeaders(reply: FastifyReply, speech: SpeechStream): void {
  speechHeaders(reply, speech);
  void reply.header("X-Sample-Rate", String(XTTS_RATE));
}

export function synthRoutes(app: FastifyInstance, ctx: XttsContext): void {
  const { host, state } = ctx;

  // The only route xtts-api-server declares with a slash; fastify also matches /tts_to_audio
  // (Open-LLM-VTuber posts there and relies on upstream's 307).
  app.post("/tts_to_audio/", async (request, reply) => {
    const body = parseModel(request.body, SYNTH_FIELDS, "body");
    const speech = await speak(host, state, body, abortOnDisconnect(request, reply), false);
    const wav = await collect(speech);
    audioHeaders(reply, speech);
    return reply.type("audio/wav").header("Content-Disposition", 'attachment; filename="output.wav"').send(wav);
  });

  // SillyTavern puts `/tts_stream/?text=...` into an <audio> src; Mantella POSTs JSON here.
  const stream = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = request.method === "POST" ? parseModel(request.body, SYNTH_FIELDS, "body") : parseModel(request.query, SYNTH_FIELDS, "query");
    const speech = await speak(host, state, params, abortOnDisconnect(request, reply), true);
    audioHeaders(reply, speech);
    void reply.type("audio/x-wav").header("Cache-Control", "no-cache");
    return reply.send(Readable.from(loggingFailure(streamAudio(speech, { format: "wav", sampleRate: XTTS_RATE }).body, request.log), { objectMode: false }));
  };
  app.get("/tts_stream", stream);
  app.post("/tts_stream", stream);

  app.post("/tts_to_file", async (request, reply) => {
    const body = parseModel(request.body, FILE_FIELDS, "body");
    const wanted = body.file_name_or_path.trim();
    if (!/\.wav$/i.test(wanted)) throw new Detail(400, "file_name_or_path: must end in .wav");
    const file = await confine(state.roots.outputRoot, state.outputFolder, wanted, "file_name_or_path");
    const speech = await speak(host, state, body, abortOnDisconnect(request, reply), false);
    const wav = await collect(speech);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Checked again now that the folders exist: a symlink may have appeared meanwhile.
    await confine(state.roots.outputRoot, state.outputFolder, wanted, "file_name_or_path");
    const tmp = `${file}.${process.pid}.part`;
    await fs.writeFile(tmp, wav);
    await fs.rename(tmp, file);
    return { message: "The audio was successfully made and stored.", output_path: file };
  });
}
