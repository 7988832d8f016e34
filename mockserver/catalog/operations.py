"""The operations each catalog entry names, in groups (an entry applies to every operation of its group)."""

from __future__ import annotations

NURO_CREATE = "nuroCreate"
NURO_GET = "nuroGetTask"
NURO_OPS = (NURO_CREATE, NURO_GET)

SONIC_CREATE = "sonicCreate"
SONIC_GET = "sonicGetTask"
#: The create operation and its legacy ``suno`` alias; the poll and its alias.
SONIC_CREATES = (SONIC_CREATE, "sunoCreate")
SONIC_GETS = (SONIC_GET, "sunoGetTask")
#: Operations that generate songs (content rules apply to their prompts and descriptions).
SONIC_GENERATE = (
    *SONIC_CREATES,
    "sonicUploadCover",
    "sonicUploadExtend",
    "sonicSample",
    "sonicMashup",
    "sonicReplaceSection",
)
#: Operations that create a task (a task can fail later; they count against the queue).
SONIC_TASKS = (*SONIC_GENERATE, "sonicCreateVoice")
#: Tools on one finished clip (synchronous; a download answers 202 while its files are prepared).
SONIC_CLIP_TOOLS = (
    "sonicWav",
    "sonicStemsBasic",
    "sonicStemsFull",
    "sonicMidi",
    "sonicVox",
    "sonicBpm",
    "sonicDownload",
)
#: Operations that name clips of the caller.
SONIC_CLIP_USERS = (
    *SONIC_CREATES,
    "sonicPersona",
    "sonicSample",
    "sonicMashup",
    "sonicReplaceSection",
    *SONIC_CLIP_TOOLS,
)
SONIC_UPLOADS = ("sonicUpload", "sonicUploadCover", "sonicUploadExtend", "sonicCreateVoice")
SONIC_BILLED = (*SONIC_TASKS, "sonicUpload", "sonicPersona", "sonicUpsampleTags", *SONIC_CLIP_TOOLS)
SONIC_OPS = (*SONIC_BILLED, *SONIC_GETS, "sonicLyrics", "sonicFeed")
PRODUCER_CREATE = "producerCreate"
PRODUCER_GET = "producerGetTask"
#: Every Producer operation that makes a task (all are billed).
PRODUCER_TASKS = (PRODUCER_CREATE, "producerUpload", "producerDownload", "producerLyricsCreate", "producerVideoClip")
PRODUCER_OPS = (*PRODUCER_TASKS, PRODUCER_GET)
