# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
"""vrclinic protocol 1.1: the message types.

Build a message with keyword arguments (``SetParameter(name="distance", value=1.5)``)
and hand it to a link; the codec (protocol.codec) validates and encodes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

PROTOCOL_NAME = 'vrclinic'
PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 1


class Message:
    """Base of every message type: TYPE is the wire name, DIRECTION who may send it."""

    __slots__ = ()
    TYPE: ClassVar[str]
    DIRECTION: ClassVar[str]


class ByeReason(StrEnum):
    """Why a peer ends (or refuses) the link; SPEC.md, "Handshake", says what an engine does on each."""

    SHUTDOWN = 'shutdown'
    VERSION_MISMATCH = 'version_mismatch'
    DUPLICATE_NAME = 'duplicate_name'
    REFUSED = 'refused'
    RESTARTING = 'restarting'
    NOT_PAIRED = 'not_paired'
    REVOKED = 'revoked'
    FLOODING = 'flooding'


class ErrorCode(StrEnum):
    """What was wrong with a message a peer sent."""

    MALFORMED = 'malformed'
    TOO_LARGE = 'too_large'
    TOO_DEEP = 'too_deep'
    UNKNOWN_TYPE = 'unknown_type'
    WRONG_DIRECTION = 'wrong_direction'
    INVALID_FIELD = 'invalid_field'
    NOT_CONNECTED = 'not_connected'
    UNKNOWN_SCENE = 'unknown_scene'
    UNKNOWN_PARAMETER = 'unknown_parameter'
    OUT_OF_RANGE = 'out_of_range'
    BUSY = 'busy'
    RATE_LIMITED = 'rate_limited'
    UNEXPECTED = 'unexpected'
    BAD_TIME = 'bad_time'


class SceneState(StrEnum):
    """What the engine is showing."""

    LOADING = 'loading'
    RUNNING = 'running'
    PAUSED = 'paused'
    SAFE = 'safe'
    FAILED = 'failed'


class PromptKind(StrEnum):
    """What a self-report prompt asks."""

    SUDS = 'suds'
    EXPECTANCY = 'expectancy'
    OUTCOME = 'outcome'


class SafetyKind(StrEnum):
    """What kind of safety event an engine reports."""

    WATCHDOG = 'watchdog'
    MAKE_SAFE_DONE = 'make_safe_done'
    OVERHEATING = 'overheating'
    BATTERY_LOW = 'battery_low'
    TRACKING_LOST = 'tracking_lost'
    PATIENT_REQUEST = 'patient_request'
    OTHER = 'other'


@dataclass(kw_only=True, slots=True)
class ParameterSpec:
    """A stimulus parameter a scene offers; the console builds one control from it."""

    name: str
    """Identifier used in set_parameter, e.g. "distance"."""
    label: str
    """What the therapist reads next to the control, e.g. "Spider distance"."""
    unit: str
    """Unit shown after the number, e.g. "m"; empty when unitless."""
    min: float
    """Lowest value the engine accepts."""
    max: float
    """Highest value the engine accepts."""
    step: float
    """Smallest meaningful change; 0 means continuous."""
    default: float
    """Value the scene starts with."""
    intensity_increases: bool = True
    """True when a higher value is more frightening (false for e.g. distance)."""


@dataclass(kw_only=True, slots=True)
class SceneSpec:
    """A scene the engine can load, with the parameters it offers."""

    id: str
    """Identifier used in load_scene, e.g. "spiders"."""
    label: str
    """What the therapist reads in the scene picker."""
    description: str = ''
    """A sentence on what the patient sees."""
    calm: bool = False
    """True for the calm scene that make_safe fades to."""
    parameters: list[ParameterSpec]
    """The stimulus parameters of this scene."""


@dataclass(kw_only=True, slots=True)
class ParameterValue:
    """A parameter's current value."""

    name: str
    """Parameter name, as declared in the scene catalogue."""
    value: float
    """Value in the parameter's unit."""


@dataclass(kw_only=True, slots=True)
class Hello(Message):
    """First message of an engine client on every (re)connection: who it is and which protocol it speaks. (engine to console)"""

    TYPE: ClassVar[str] = 'hello'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    name: str
    """The headset's name as its settings give it, e.g. "Room 2 Quest"; on the encrypted port only a proposal: the console shows the name its device list gives the headset's key."""
    instance_id: str
    """Random token chosen when the engine app starts, the same for as long as it runs: the same token on a new connection is a reconnection of the same run, a different one a restarted app (the headset itself is its key)."""
    protocol_major: int
    """Protocol major version the engine speaks."""
    protocol_minor: int
    """Protocol minor version the engine speaks."""
    engine: str
    """Engine and version, e.g. "Unity 2022.3.20f1", "Godot 4.3", "vrclinic simulated headset"."""
    app_version: str
    """Version of the clinic's VR application."""
    device: str = ''
    """Headset model, e.g. "Meta Quest 3"."""
    sent_at: float
    """Engine clock when sent (monotonic seconds; any origin). [s]"""
    resumed: bool = False
    """True when this app run was welcomed by this console before (a reconnection) and kept its state; false after a start."""


@dataclass(kw_only=True, slots=True)
class Welcome(Message):
    """The console accepts a hello. From now on both sides send heartbeats. (console to engine)"""

    TYPE: ClassVar[str] = 'welcome'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    protocol_major: int
    """Protocol major version the console speaks."""
    protocol_minor: int
    """Protocol minor version the console speaks."""
    console_name: str
    """The console's name, shown in the headset's diagnostics."""
    session_id: str
    """The console's session identifier; the same across reconnections of one session."""
    heartbeat_interval_ms: int
    """How often each side sends a heartbeat; the link states follow from it (SPEC.md, "Link states"). [ms]"""
    watchdog_timeout_ms: int
    """How long without a counted console heartbeat before the engine makes the scene safe on its own; at least 3 × heartbeat_interval_ms (an engine given less uses 3 × heartbeat_interval_ms). The engine starts over with hello after 4 × this. [ms]"""
    sent_at: float
    """Console clock when sent. [s]"""
    echo_sent_at: float
    """The hello's sent_at, echoed for a first clock estimate. [s]"""
    echo_received_at: float
    """Console clock when the hello arrived. [s]"""


@dataclass(kw_only=True, slots=True)
class Bye(Message):
    """The sender ends the link (or refuses it); the text says why in words a technician understands. (both)"""

    TYPE: ClassVar[str] = 'bye'
    DIRECTION: ClassVar[str] = 'both'
    reason: ByeReason
    """Why the link ends."""
    text: str
    """What happened and what to do, for a person."""


@dataclass(kw_only=True, slots=True)
class Heartbeat(Message):
    """Sent every heartbeat_interval_ms by each side. Proves the sender's control loop is running and carries the timestamps for round-trip time and clock offset (NTP-style). (both)"""

    TYPE: ClassVar[str] = 'heartbeat'
    DIRECTION: ClassVar[str] = 'both'
    seq: int
    """Sender's heartbeat counter: 0 for its first beat after a handshake (when, exactly: SPEC.md section 5, Numbering), +1 per beat; a receiver ignores beats not newer than the last it counted since then."""
    sent_at: float
    """Sender clock when this beat was sent (t3). [s]"""
    echo_seq: int = -1
    """seq of the last beat received from the peer; -1 before the first."""
    echo_sent_at: float = 0.0
    """That beat's sent_at, in the peer's clock (t1). [s]"""
    echo_received_at: float = 0.0
    """Sender clock when that beat arrived (t2). [s]"""


@dataclass(kw_only=True, slots=True)
class Error(Message):
    """The sender could not accept a message the peer sent. The link stays up. (both)"""

    TYPE: ClassVar[str] = 'error'
    DIRECTION: ClassVar[str] = 'both'
    code: ErrorCode
    """Kind of problem (SPEC.md, "Errors and limits", says which for what)."""
    text: str
    """The problem in words: message, field and what was wrong."""
    ref_type: str = ''
    """Type of the message this error refers to, when it could be read as text; "" otherwise."""
    ref_id: int = -1
    """Envelope id of the message this error refers to; -1 when it could not be read as an integer of at least 0."""


@dataclass(kw_only=True, slots=True)
class KeyRequest(Message):
    """Sent to the console's pairing port (main port + 1, no encryption) to learn the console's public key before the first encrypted connection, and again (at most once a second) while the answer says pairing is not open. Nothing secret travels: both sides then show a pairing code made from both public keys, which a technician compares. (engine to console)"""

    TYPE: ClassVar[str] = 'key_request'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    name: str
    """The headset's name, proposed for the console's device list."""
    public_key: str
    """The headset's CURVE public key, Z85-encoded (exactly 40 characters); never the secret key."""


@dataclass(kw_only=True, slots=True)
class ConsoleKey(Message):
    """The pairing port's answer to key_request: the console's public key to pin, and whether the console is accepting pairing requests now. (console to engine)"""

    TYPE: ClassVar[str] = 'console_key'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    public_key: str
    """The console's CURVE public key, Z85-encoded (exactly 40 characters): use it as the CURVE server key, and keep it (pin it) once the console has welcomed the headset."""
    console_name: str
    """The console's name, to show on the headset."""
    pairing_open: bool
    """True while a technician has opened pairing on the console (Devices, Pair a headset); otherwise an unpaired key is refused at the encrypted port's handshake, and the engine asks again later."""


@dataclass(kw_only=True, slots=True)
class SceneCatalogue(Message):
    """The scenes the engine offers and each scene's stimulus parameters; exactly one scene has calm = true. Sent after every welcome and whenever the offer changes. (engine to console)"""

    TYPE: ClassVar[str] = 'scene_catalogue'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    scenes: list[SceneSpec]
    """Every loadable scene, the calm scene included."""


@dataclass(kw_only=True, slots=True)
class LoadScene(Message):
    """Load a scene, optionally with starting values for some of its parameters. (console to engine)"""

    TYPE: ClassVar[str] = 'load_scene'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    scene_id: str
    """A scene id from the catalogue."""
    parameters: list[ParameterValue] = field(default_factory=list)
    """Starting values; parameters not listed start at their default."""


@dataclass(kw_only=True, slots=True)
class SceneStatus(Message):
    """What the engine shows now, with every parameter's applied value. Sent after every welcome and at once on every change of scene or state (running: when the stimulus starts to show, i.e. at the start of a resume's fade). (engine to console)"""

    TYPE: ClassVar[str] = 'scene_status'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    scene_id: str
    """The scene shown (or being loaded): an id from the catalogue; the calm scene's id in state safe."""
    state: SceneState
    """loading, running, paused, safe (the calm scene after make_safe or the watchdog) or failed."""
    progress: float = 1.0
    """Loading progress (1.0 in every state but loading)."""
    parameters: list[ParameterValue] = field(default_factory=list)
    """Applied value of every parameter of the scene named (none for a calm scene without parameters)."""
    text: str = ''
    """Why a load failed, or other detail for the therapist."""


@dataclass(kw_only=True, slots=True)
class SetParameter(Message):
    """Change one stimulus parameter of the current scene, at once or ramped. (console to engine)"""

    TYPE: ClassVar[str] = 'set_parameter'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    name: str
    """Parameter name from the catalogue."""
    value: float
    """Target value, within the parameter's declared min..max."""
    ramp_s: float = 0.0
    """Reach the target linearly over this many seconds; 0 = at once. [s]"""


@dataclass(kw_only=True, slots=True)
class ParameterApplied(Message):
    """The value the engine actually shows. Sent after every set_parameter, during ramps (at most 10 per second per parameter) and when a ramp ends. (engine to console)"""

    TYPE: ClassVar[str] = 'parameter_applied'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    name: str
    """Parameter name."""
    value: float
    """Applied value now."""
    target: float
    """Where a ramp is heading (equals value when not ramping)."""
    ramping: bool
    """True while a ramp is under way."""
    ref_id: int = -1
    """Envelope id of the set_parameter this answers; -1 for ramp progress and engine-side changes."""
    applied_at: float
    """Engine clock when the value took effect. [s]"""


@dataclass(kw_only=True, slots=True)
class MakeSafe(Message):
    """Fade to the calm scene now. Always obeyed, at once, in any state, even during loading (the load is abandoned). (console to engine)"""

    TYPE: ClassVar[str] = 'make_safe'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    fade_s: float = 1.0
    """Length of the fade. [s]"""
    reason: str = ''
    """Why, for the record, e.g. "therapist pressed make safe"."""


@dataclass(kw_only=True, slots=True)
class Pause(Message):
    """Freeze the stimulus where it is (animations and ramps stop). (console to engine)"""

    TYPE: ClassVar[str] = 'pause'
    DIRECTION: ClassVar[str] = 'console_to_engine'


@dataclass(kw_only=True, slots=True)
class Resume(Message):
    """Continue after pause; after make_safe (or the watchdog), bring back the scene and values shown before it, ramped over fade_s. In any other state it changes nothing. (console to engine)"""

    TYPE: ClassVar[str] = 'resume'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    fade_s: float = 3.0
    """After make_safe: how long the way back takes. [s]"""


@dataclass(kw_only=True, slots=True)
class Prompt(Message):
    """Show a rating prompt inside VR (SUDS 0-100, or expectancy/outcome 0-100 %). Each prompt gets exactly one prompt_answer. (console to engine)"""

    TYPE: ClassVar[str] = 'prompt'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    prompt_id: int
    """Console's number for this prompt; the answer carries it back."""
    kind: PromptKind
    """suds, expectancy (before a step) or outcome (after it)."""
    text: str
    """The question as the patient reads it."""
    min: int = 0
    """Lowest answer; the console keeps 0 <= min < max <= 100."""
    max: int = 100
    """Highest answer."""
    timeout_s: float = 60.0
    """Hide the prompt after this long without an answer (then prompt_answer has answered = false); 0 = no time limit. [s]"""


@dataclass(kw_only=True, slots=True)
class PromptAnswer(Message):
    """The patient's answer to a prompt, or its expiry: exactly one per prompt received, never for a prompt_id the console did not send. (engine to console)"""

    TYPE: ClassVar[str] = 'prompt_answer'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    prompt_id: int
    """prompt_id of the prompt answered."""
    kind: PromptKind
    """Kind of the prompt answered."""
    answered: bool
    """False when the prompt timed out or was dismissed."""
    value: int = 0
    """The rating, within the prompt's min..max when answered; 0 when not."""
    shown_at: float
    """Engine clock when the prompt appeared. [s]"""
    answered_at: float
    """Engine clock when the patient answered (or it expired). [s]"""


@dataclass(kw_only=True, slots=True)
class Marker(Message):
    """A point in time worth finding again: a therapist's marker, an engine event (spider touched the hand). (both)"""

    TYPE: ClassVar[str] = 'marker'
    DIRECTION: ClassVar[str] = 'both'
    label: str
    """Short name, e.g. "patient closed eyes"."""
    note: str = ''
    """Free text."""
    at: float
    """Sender clock at the moment marked. [s]"""


@dataclass(kw_only=True, slots=True)
class SafetyEvent(Message):
    """Something safety-relevant happened on the headset; the console shows it prominently and records it. (engine to console)"""

    TYPE: ClassVar[str] = 'safety_event'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    kind: SafetyKind
    """What happened."""
    text: str
    """What happened, in words."""
    at: float
    """Engine clock when it happened. [s]"""


@dataclass(kw_only=True, slots=True)
class Telemetry(Message):
    """Headset health and head pose, about twice a second. (engine to console)"""

    TYPE: ClassVar[str] = 'telemetry'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    at: float
    """Engine clock when measured. [s]"""
    head_position: list[float]
    """Head position x, y, z in the tracking space (y up). [m]"""
    head_rotation: list[float]
    """Head orientation as a unit quaternion x, y, z, w."""
    fps: float
    """Rendering frame rate achieved. [Hz]"""
    battery_pct: float = 100.0
    """Battery charge. [%]"""
    charging: bool = False
    """True while on the charger."""
    temperature_c: float = 0.0
    """Device temperature; 0 when unknown. [°C]"""


@dataclass(kw_only=True, slots=True)
class MirrorSettings(Message):
    """How the engine should mirror the patient's view. The engine may send less (smaller, fewer) to protect its own frame rate, never more. (console to engine)"""

    TYPE: ClassVar[str] = 'mirror_settings'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    enabled: bool
    """Send mirror frames at all."""
    max_fps: float = 15.0
    """Most frames per second to send. [Hz]"""
    max_width: int = 640
    """Widest frame to send (height follows the aspect ratio). [px]"""
    quality: int = 70
    """JPEG quality."""


@dataclass(kw_only=True, slots=True)
class MirrorFrame(Message):
    """One JPEG of the patient's view, no wider than max_width and no more often than max_fps. At most one frame is unacknowledged at any time (see Mirror flow control). (engine to console)"""

    TYPE: ClassVar[str] = 'mirror_frame'
    DIRECTION: ClassVar[str] = 'engine_to_console'
    seq: int
    """Frame counter, +1 per captured frame (gaps = frames the engine skipped)."""
    captured_at: float
    """Engine clock when the frame was rendered. [s]"""
    width: int
    """Image width. [px]"""
    height: int
    """Image height. [px]"""
    jpeg: bytes
    """The image, baseline JPEG."""


@dataclass(kw_only=True, slots=True)
class MirrorAck(Message):
    """The console received a mirror frame; the engine may send the next one. (console to engine)"""

    TYPE: ClassVar[str] = 'mirror_ack'
    DIRECTION: ClassVar[str] = 'console_to_engine'
    seq: int
    """seq of the frame received."""
    received_at: float
    """Console clock on arrival. [s]"""


MESSAGE_TYPES: dict[str, type[Message]] = {
    'hello': Hello,
    'welcome': Welcome,
    'bye': Bye,
    'heartbeat': Heartbeat,
    'error': Error,
    'key_request': KeyRequest,
    'console_key': ConsoleKey,
    'scene_catalogue': SceneCatalogue,
    'load_scene': LoadScene,
    'scene_status': SceneStatus,
    'set_parameter': SetParameter,
    'parameter_applied': ParameterApplied,
    'make_safe': MakeSafe,
    'pause': Pause,
    'resume': Resume,
    'prompt': Prompt,
    'prompt_answer': PromptAnswer,
    'marker': Marker,
    'safety_event': SafetyEvent,
    'telemetry': Telemetry,
    'mirror_settings': MirrorSettings,
    'mirror_frame': MirrorFrame,
    'mirror_ack': MirrorAck,
}
STRUCT_TYPES: dict[str, type] = {
    'ParameterSpec': ParameterSpec,
    'SceneSpec': SceneSpec,
    'ParameterValue': ParameterValue,
}
ENUM_TYPES: dict[str, type[StrEnum]] = {
    'ByeReason': ByeReason,
    'ErrorCode': ErrorCode,
    'SceneState': SceneState,
    'PromptKind': PromptKind,
    'SafetyKind': SafetyKind,
}
