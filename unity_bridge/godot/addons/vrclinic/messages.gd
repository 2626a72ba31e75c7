# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# vrclinic protocol 1.1 for Godot 4: the message declaration as data
# (the addon's codec validates every frame against these tables) and one constructor
# per message and struct, returning the message as a Dictionary in canonical order.
extends RefCounted

const PROTOCOL_NAME = "vrclinic"
const PROTOCOL_MAJOR = 1
const PROTOCOL_MINOR = 1
const PROTOCOL_VERSION = "1.1"

# Limits (SPEC.md section 9), enforced before decoding allocates anything.
const MAX_FRAME_BYTES = 4194304
const MAX_CONTROL_FRAME_BYTES = 1048576
const MAX_JPEG_BYTES = 4063232
const MAX_DEPTH = 8
const MAX_STR_BYTES = 4096
const MAX_LIST_LEN = 1024
const MAX_MAP_LEN = 64

# Enums travel as their string value.
# Why a peer ends (or refuses) the link; SPEC.md, "Handshake", says what an engine does on each.
const BYE_REASON_SHUTDOWN = "shutdown"
const BYE_REASON_VERSION_MISMATCH = "version_mismatch"
const BYE_REASON_DUPLICATE_NAME = "duplicate_name"
const BYE_REASON_REFUSED = "refused"
const BYE_REASON_RESTARTING = "restarting"
const BYE_REASON_NOT_PAIRED = "not_paired"
const BYE_REASON_REVOKED = "revoked"
const BYE_REASON_FLOODING = "flooding"
# What was wrong with a message a peer sent.
const ERROR_CODE_MALFORMED = "malformed"
const ERROR_CODE_TOO_LARGE = "too_large"
const ERROR_CODE_TOO_DEEP = "too_deep"
const ERROR_CODE_UNKNOWN_TYPE = "unknown_type"
const ERROR_CODE_WRONG_DIRECTION = "wrong_direction"
const ERROR_CODE_INVALID_FIELD = "invalid_field"
const ERROR_CODE_NOT_CONNECTED = "not_connected"
const ERROR_CODE_UNKNOWN_SCENE = "unknown_scene"
const ERROR_CODE_UNKNOWN_PARAMETER = "unknown_parameter"
const ERROR_CODE_OUT_OF_RANGE = "out_of_range"
const ERROR_CODE_BUSY = "busy"
const ERROR_CODE_RATE_LIMITED = "rate_limited"
const ERROR_CODE_UNEXPECTED = "unexpected"
const ERROR_CODE_BAD_TIME = "bad_time"
# What the engine is showing.
const SCENE_STATE_LOADING = "loading"
const SCENE_STATE_RUNNING = "running"
const SCENE_STATE_PAUSED = "paused"
const SCENE_STATE_SAFE = "safe"
const SCENE_STATE_FAILED = "failed"
# What a self-report prompt asks.
const PROMPT_KIND_SUDS = "suds"
const PROMPT_KIND_EXPECTANCY = "expectancy"
const PROMPT_KIND_OUTCOME = "outcome"
# What kind of safety event an engine reports.
const SAFETY_KIND_WATCHDOG = "watchdog"
const SAFETY_KIND_MAKE_SAFE_DONE = "make_safe_done"
const SAFETY_KIND_OVERHEATING = "overheating"
const SAFETY_KIND_BATTERY_LOW = "battery_low"
const SAFETY_KIND_TRACKING_LOST = "tracking_lost"
const SAFETY_KIND_PATIENT_REQUEST = "patient_request"
const SAFETY_KIND_OTHER = "other"

const ENUMS = {
	"ByeReason": ["shutdown", "version_mismatch", "duplicate_name", "refused", "restarting", "not_paired", "revoked", "flooding"],
	"ErrorCode": ["malformed", "too_large", "too_deep", "unknown_type", "wrong_direction", "invalid_field", "not_connected", "unknown_scene", "unknown_parameter", "out_of_range", "busy", "rate_limited", "unexpected", "bad_time"],
	"SceneState": ["loading", "running", "paused", "safe", "failed"],
	"PromptKind": ["suds", "expectancy", "outcome"],
	"SafetyKind": ["watchdog", "make_safe_done", "overheating", "battery_low", "tracking_lost", "patient_request", "other"],
}

# Field tables: name, type, optional, default, min, max, max_len, len.
const STRUCTS = {
	"ParameterSpec": [
		{"name": "name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
		{"name": "label", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 128, "len": null},
		{"name": "unit", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 16, "len": null},
		{"name": "min", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		{"name": "max", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		{"name": "step", "type": {"kind": "float"}, "optional": false, "default": null, "min": 0.0, "max": null, "max_len": null, "len": null},
		{"name": "default", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		{"name": "intensity_increases", "type": {"kind": "bool"}, "optional": true, "default": true, "min": null, "max": null, "max_len": null, "len": null},
	],
	"SceneSpec": [
		{"name": "id", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
		{"name": "label", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 128, "len": null},
		{"name": "description", "type": {"kind": "str"}, "optional": true, "default": "", "min": null, "max": null, "max_len": 1024, "len": null},
		{"name": "calm", "type": {"kind": "bool"}, "optional": true, "default": false, "min": null, "max": null, "max_len": null, "len": null},
		{"name": "parameters", "type": {"kind": "list", "item": {"kind": "struct", "name": "ParameterSpec"}}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
	],
	"ParameterValue": [
		{"name": "name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
		{"name": "value", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
	],
}

const MESSAGES = {
	"hello": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "instance_id", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "protocol_major", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": 65535, "max_len": null, "len": null},
			{"name": "protocol_minor", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": 65535, "max_len": null, "len": null},
			{"name": "engine", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "app_version", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "device", "type": {"kind": "str"}, "optional": true, "default": "", "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "sent_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "resumed", "type": {"kind": "bool"}, "optional": true, "default": false, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"welcome": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "protocol_major", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": 65535, "max_len": null, "len": null},
			{"name": "protocol_minor", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": 65535, "max_len": null, "len": null},
			{"name": "console_name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "session_id", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "heartbeat_interval_ms", "type": {"kind": "int"}, "optional": false, "default": null, "min": 20, "max": 1000, "max_len": null, "len": null},
			{"name": "watchdog_timeout_ms", "type": {"kind": "int"}, "optional": false, "default": null, "min": 100, "max": 10000, "max_len": null, "len": null},
			{"name": "sent_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "echo_sent_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "echo_received_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"bye": {
		"direction": "both",
		"fields": [
			{"name": "reason", "type": {"kind": "enum", "name": "ByeReason"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "text", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 1024, "len": null},
		],
	},
	"heartbeat": {
		"direction": "both",
		"fields": [
			{"name": "seq", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": 9007199254740991, "max_len": null, "len": null},
			{"name": "sent_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "echo_seq", "type": {"kind": "int"}, "optional": true, "default": -1, "min": -1, "max": null, "max_len": null, "len": null},
			{"name": "echo_sent_at", "type": {"kind": "float"}, "optional": true, "default": 0.0, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "echo_received_at", "type": {"kind": "float"}, "optional": true, "default": 0.0, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"error": {
		"direction": "both",
		"fields": [
			{"name": "code", "type": {"kind": "enum", "name": "ErrorCode"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "text", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 1024, "len": null},
			{"name": "ref_type", "type": {"kind": "str"}, "optional": true, "default": "", "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "ref_id", "type": {"kind": "int"}, "optional": true, "default": -1, "min": -1, "max": null, "max_len": null, "len": null},
		],
	},
	"key_request": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "public_key", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 40, "len": null},
		],
	},
	"console_key": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "public_key", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 40, "len": null},
			{"name": "console_name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "pairing_open", "type": {"kind": "bool"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"scene_catalogue": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "scenes", "type": {"kind": "list", "item": {"kind": "struct", "name": "SceneSpec"}}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
		],
	},
	"load_scene": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "scene_id", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "parameters", "type": {"kind": "list", "item": {"kind": "struct", "name": "ParameterValue"}}, "optional": true, "default": [], "min": null, "max": null, "max_len": 64, "len": null},
		],
	},
	"scene_status": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "scene_id", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "state", "type": {"kind": "enum", "name": "SceneState"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "progress", "type": {"kind": "float"}, "optional": true, "default": 1.0, "min": 0.0, "max": 1.0, "max_len": null, "len": null},
			{"name": "parameters", "type": {"kind": "list", "item": {"kind": "struct", "name": "ParameterValue"}}, "optional": true, "default": [], "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "text", "type": {"kind": "str"}, "optional": true, "default": "", "min": null, "max": null, "max_len": 1024, "len": null},
		],
	},
	"set_parameter": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "value", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "ramp_s", "type": {"kind": "float"}, "optional": true, "default": 0.0, "min": 0.0, "max": 600.0, "max_len": null, "len": null},
		],
	},
	"parameter_applied": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "name", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 64, "len": null},
			{"name": "value", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "target", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "ramping", "type": {"kind": "bool"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "ref_id", "type": {"kind": "int"}, "optional": true, "default": -1, "min": -1, "max": null, "max_len": null, "len": null},
			{"name": "applied_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"make_safe": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "fade_s", "type": {"kind": "float"}, "optional": true, "default": 1.0, "min": 0.0, "max": 10.0, "max_len": null, "len": null},
			{"name": "reason", "type": {"kind": "str"}, "optional": true, "default": "", "min": null, "max": null, "max_len": 256, "len": null},
		],
	},
	"pause": {
		"direction": "console_to_engine",
		"fields": [
		],
	},
	"resume": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "fade_s", "type": {"kind": "float"}, "optional": true, "default": 3.0, "min": 0.0, "max": 30.0, "max_len": null, "len": null},
		],
	},
	"prompt": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "prompt_id", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": null, "max_len": null, "len": null},
			{"name": "kind", "type": {"kind": "enum", "name": "PromptKind"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "text", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 512, "len": null},
			{"name": "min", "type": {"kind": "int"}, "optional": true, "default": 0, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "max", "type": {"kind": "int"}, "optional": true, "default": 100, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "timeout_s", "type": {"kind": "float"}, "optional": true, "default": 60.0, "min": 0.0, "max": 600.0, "max_len": null, "len": null},
		],
	},
	"prompt_answer": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "prompt_id", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": null, "max_len": null, "len": null},
			{"name": "kind", "type": {"kind": "enum", "name": "PromptKind"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "answered", "type": {"kind": "bool"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "value", "type": {"kind": "int"}, "optional": true, "default": 0, "min": 0, "max": 100, "max_len": null, "len": null},
			{"name": "shown_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "answered_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"marker": {
		"direction": "both",
		"fields": [
			{"name": "label", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 128, "len": null},
			{"name": "note", "type": {"kind": "str"}, "optional": true, "default": "", "min": null, "max": null, "max_len": 1024, "len": null},
			{"name": "at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"safety_event": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "kind", "type": {"kind": "enum", "name": "SafetyKind"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "text", "type": {"kind": "str"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 1024, "len": null},
			{"name": "at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
	"telemetry": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "head_position", "type": {"kind": "list", "item": {"kind": "float"}}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": 3},
			{"name": "head_rotation", "type": {"kind": "list", "item": {"kind": "float"}}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": 4},
			{"name": "fps", "type": {"kind": "float"}, "optional": false, "default": null, "min": 0.0, "max": 1000.0, "max_len": null, "len": null},
			{"name": "battery_pct", "type": {"kind": "float"}, "optional": true, "default": 100.0, "min": 0.0, "max": 100.0, "max_len": null, "len": null},
			{"name": "charging", "type": {"kind": "bool"}, "optional": true, "default": false, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "temperature_c", "type": {"kind": "float"}, "optional": true, "default": 0.0, "min": -40.0, "max": 150.0, "max_len": null, "len": null},
		],
	},
	"mirror_settings": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "enabled", "type": {"kind": "bool"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "max_fps", "type": {"kind": "float"}, "optional": true, "default": 15.0, "min": 0.5, "max": 60.0, "max_len": null, "len": null},
			{"name": "max_width", "type": {"kind": "int"}, "optional": true, "default": 640, "min": 64, "max": 3840, "max_len": null, "len": null},
			{"name": "quality", "type": {"kind": "int"}, "optional": true, "default": 70, "min": 10, "max": 95, "max_len": null, "len": null},
		],
	},
	"mirror_frame": {
		"direction": "engine_to_console",
		"fields": [
			{"name": "seq", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": null, "max_len": null, "len": null},
			{"name": "captured_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
			{"name": "width", "type": {"kind": "int"}, "optional": false, "default": null, "min": 1, "max": 3840, "max_len": null, "len": null},
			{"name": "height", "type": {"kind": "int"}, "optional": false, "default": null, "min": 1, "max": 2160, "max_len": null, "len": null},
			{"name": "jpeg", "type": {"kind": "bytes"}, "optional": false, "default": null, "min": null, "max": null, "max_len": 4063232, "len": null},
		],
	},
	"mirror_ack": {
		"direction": "console_to_engine",
		"fields": [
			{"name": "seq", "type": {"kind": "int"}, "optional": false, "default": null, "min": 0, "max": null, "max_len": null, "len": null},
			{"name": "received_at", "type": {"kind": "float"}, "optional": false, "default": null, "min": null, "max": null, "max_len": null, "len": null},
		],
	},
}


# -- structs ----------------------------------------------------------------------

# A stimulus parameter a scene offers; the console builds one control from it.
static func parameter_spec(p_name: String, p_label: String, p_unit: String, p_min: float, p_max: float, p_step: float, p_default: float, p_intensity_increases: bool = true) -> Dictionary:
	return {
		"name": p_name,
		"label": p_label,
		"unit": p_unit,
		"min": p_min,
		"max": p_max,
		"step": p_step,
		"default": p_default,
		"intensity_increases": p_intensity_increases,
	}

# A scene the engine can load, with the parameters it offers.
static func scene_spec(p_id: String, p_label: String, p_parameters: Array, p_description: String = "", p_calm: bool = false) -> Dictionary:
	return {
		"id": p_id,
		"label": p_label,
		"description": p_description,
		"calm": p_calm,
		"parameters": p_parameters,
	}

# A parameter's current value.
static func parameter_value(p_name: String, p_value: float) -> Dictionary:
	return {
		"name": p_name,
		"value": p_value,
	}


# -- messages ---------------------------------------------------------------------

# First message of an engine client on every (re)connection: who it is and which protocol it speaks. (engine to console)
static func hello(p_name: String, p_instance_id: String, p_protocol_major: int, p_protocol_minor: int, p_engine: String, p_app_version: String, p_sent_at: float, p_device: String = "", p_resumed: bool = false) -> Dictionary:
	return {
		"type": "hello",
		"name": p_name,
		"instance_id": p_instance_id,
		"protocol_major": p_protocol_major,
		"protocol_minor": p_protocol_minor,
		"engine": p_engine,
		"app_version": p_app_version,
		"device": p_device,
		"sent_at": p_sent_at,
		"resumed": p_resumed,
	}

# The console accepts a hello. From now on both sides send heartbeats. (console to engine)
static func welcome(p_protocol_major: int, p_protocol_minor: int, p_console_name: String, p_session_id: String, p_heartbeat_interval_ms: int, p_watchdog_timeout_ms: int, p_sent_at: float, p_echo_sent_at: float, p_echo_received_at: float) -> Dictionary:
	return {
		"type": "welcome",
		"protocol_major": p_protocol_major,
		"protocol_minor": p_protocol_minor,
		"console_name": p_console_name,
		"session_id": p_session_id,
		"heartbeat_interval_ms": p_heartbeat_interval_ms,
		"watchdog_timeout_ms": p_watchdog_timeout_ms,
		"sent_at": p_sent_at,
		"echo_sent_at": p_echo_sent_at,
		"echo_received_at": p_echo_received_at,
	}

# The sender ends the link (or refuses it); the text says why in words a technician understands. (both)
static func bye(p_reason: String, p_text: String) -> Dictionary:
	return {
		"type": "bye",
		"reason": p_reason,
		"text": p_text,
	}

# Sent every heartbeat_interval_ms by each side. Proves the sender's control loop is running and carries the timestamps for round-trip time and clock offset (NTP-style). (both)
static func heartbeat(p_seq: int, p_sent_at: float, p_echo_seq: int = -1, p_echo_sent_at: float = 0.0, p_echo_received_at: float = 0.0) -> Dictionary:
	return {
		"type": "heartbeat",
		"seq": p_seq,
		"sent_at": p_sent_at,
		"echo_seq": p_echo_seq,
		"echo_sent_at": p_echo_sent_at,
		"echo_received_at": p_echo_received_at,
	}

# The sender could not accept a message the peer sent. The link stays up. (both)
static func error(p_code: String, p_text: String, p_ref_type: String = "", p_ref_id: int = -1) -> Dictionary:
	return {
		"type": "error",
		"code": p_code,
		"text": p_text,
		"ref_type": p_ref_type,
		"ref_id": p_ref_id,
	}

# Sent to the console's pairing port (main port + 1, no encryption) to learn the console's public key before the first encrypted connection, and again (at most once a second) while the answer says pairing is not open. Nothing secret travels: both sides then show a pairing code made from both public keys, which a technician compares. (engine to console)
static func key_request(p_name: String, p_public_key: String) -> Dictionary:
	return {
		"type": "key_request",
		"name": p_name,
		"public_key": p_public_key,
	}

# The pairing port's answer to key_request: the console's public key to pin, and whether the console is accepting pairing requests now. (console to engine)
static func console_key(p_public_key: String, p_console_name: String, p_pairing_open: bool) -> Dictionary:
	return {
		"type": "console_key",
		"public_key": p_public_key,
		"console_name": p_console_name,
		"pairing_open": p_pairing_open,
	}

# The scenes the engine offers and each scene's stimulus parameters; exactly one scene has calm = true. Sent after every welcome and whenever the offer changes. (engine to console)
static func scene_catalogue(p_scenes: Array) -> Dictionary:
	return {
		"type": "scene_catalogue",
		"scenes": p_scenes,
	}

# Load a scene, optionally with starting values for some of its parameters. (console to engine)
static func load_scene(p_scene_id: String, p_parameters: Array = []) -> Dictionary:
	return {
		"type": "load_scene",
		"scene_id": p_scene_id,
		"parameters": p_parameters,
	}

# What the engine shows now, with every parameter's applied value. Sent after every welcome and at once on every change of scene or state (running: when the stimulus starts to show, i.e. at the start of a resume's fade). (engine to console)
static func scene_status(p_scene_id: String, p_state: String, p_progress: float = 1.0, p_parameters: Array = [], p_text: String = "") -> Dictionary:
	return {
		"type": "scene_status",
		"scene_id": p_scene_id,
		"state": p_state,
		"progress": p_progress,
		"parameters": p_parameters,
		"text": p_text,
	}

# Change one stimulus parameter of the current scene, at once or ramped. (console to engine)
static func set_parameter(p_name: String, p_value: float, p_ramp_s: float = 0.0) -> Dictionary:
	return {
		"type": "set_parameter",
		"name": p_name,
		"value": p_value,
		"ramp_s": p_ramp_s,
	}

# The value the engine actually shows. Sent after every set_parameter, during ramps (at most 10 per second per parameter) and when a ramp ends. (engine to console)
static func parameter_applied(p_name: String, p_value: float, p_target: float, p_ramping: bool, p_applied_at: float, p_ref_id: int = -1) -> Dictionary:
	return {
		"type": "parameter_applied",
		"name": p_name,
		"value": p_value,
		"target": p_target,
		"ramping": p_ramping,
		"ref_id": p_ref_id,
		"applied_at": p_applied_at,
	}

# Fade to the calm scene now. Always obeyed, at once, in any state, even during loading (the load is abandoned). (console to engine)
static func make_safe(p_fade_s: float = 1.0, p_reason: String = "") -> Dictionary:
	return {
		"type": "make_safe",
		"fade_s": p_fade_s,
		"reason": p_reason,
	}

# Freeze the stimulus where it is (animations and ramps stop). (console to engine)
static func pause() -> Dictionary:
	return {
		"type": "pause",
	}

# Continue after pause; after make_safe (or the watchdog), bring back the scene and values shown before it, ramped over fade_s. In any other state it changes nothing. (console to engine)
static func resume(p_fade_s: float = 3.0) -> Dictionary:
	return {
		"type": "resume",
		"fade_s": p_fade_s,
	}

# Show a rating prompt inside VR (SUDS 0-100, or expectancy/outcome 0-100 %). Each prompt gets exactly one prompt_answer. (console to engine)
static func prompt(p_prompt_id: int, p_kind: String, p_text: String, p_min: int = 0, p_max: int = 100, p_timeout_s: float = 60.0) -> Dictionary:
	return {
		"type": "prompt",
		"prompt_id": p_prompt_id,
		"kind": p_kind,
		"text": p_text,
		"min": p_min,
		"max": p_max,
		"timeout_s": p_timeout_s,
	}

# The patient's answer to a prompt, or its expiry: exactly one per prompt received, never for a prompt_id the console did not send. (engine to console)
static func prompt_answer(p_prompt_id: int, p_kind: String, p_answered: bool, p_shown_at: float, p_answered_at: float, p_value: int = 0) -> Dictionary:
	return {
		"type": "prompt_answer",
		"prompt_id": p_prompt_id,
		"kind": p_kind,
		"answered": p_answered,
		"value": p_value,
		"shown_at": p_shown_at,
		"answered_at": p_answered_at,
	}

# A point in time worth finding again: a therapist's marker, an engine event (spider touched the hand). (both)
static func marker(p_label: String, p_at: float, p_note: String = "") -> Dictionary:
	return {
		"type": "marker",
		"label": p_label,
		"note": p_note,
		"at": p_at,
	}

# Something safety-relevant happened on the headset; the console shows it prominently and records it. (engine to console)
static func safety_event(p_kind: String, p_text: String, p_at: float) -> Dictionary:
	return {
		"type": "safety_event",
		"kind": p_kind,
		"text": p_text,
		"at": p_at,
	}

# Headset health and head pose, about twice a second. (engine to console)
static func telemetry(p_at: float, p_head_position: Array, p_head_rotation: Array, p_fps: float, p_battery_pct: float = 100.0, p_charging: bool = false, p_temperature_c: float = 0.0) -> Dictionary:
	return {
		"type": "telemetry",
		"at": p_at,
		"head_position": p_head_position,
		"head_rotation": p_head_rotation,
		"fps": p_fps,
		"battery_pct": p_battery_pct,
		"charging": p_charging,
		"temperature_c": p_temperature_c,
	}

# How the engine should mirror the patient's view. The engine may send less (smaller, fewer) to protect its own frame rate, never more. (console to engine)
static func mirror_settings(p_enabled: bool, p_max_fps: float = 15.0, p_max_width: int = 640, p_quality: int = 70) -> Dictionary:
	return {
		"type": "mirror_settings",
		"enabled": p_enabled,
		"max_fps": p_max_fps,
		"max_width": p_max_width,
		"quality": p_quality,
	}

# One JPEG of the patient's view, no wider than max_width and no more often than max_fps. At most one frame is unacknowledged at any time (see Mirror flow control). (engine to console)
static func mirror_frame(p_seq: int, p_captured_at: float, p_width: int, p_height: int, p_jpeg: PackedByteArray) -> Dictionary:
	return {
		"type": "mirror_frame",
		"seq": p_seq,
		"captured_at": p_captured_at,
		"width": p_width,
		"height": p_height,
		"jpeg": p_jpeg,
	}

# The console received a mirror frame; the engine may send the next one. (console to engine)
static func mirror_ack(p_seq: int, p_received_at: float) -> Dictionary:
	return {
		"type": "mirror_ack",
		"seq": p_seq,
		"received_at": p_received_at,
	}
