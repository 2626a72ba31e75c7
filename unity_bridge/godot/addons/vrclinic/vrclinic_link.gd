# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 4 variant of unity_bridge/godot/templates/vrclinic_link.gd.in: edit that, then regenerate.
# VrclinicLink: add this node to a scene to connect the headset app to the vrclinic
# console. Set the console's address and this headset's name in the inspector, declare
# the scenes and their stimulus parameters (declare_scene), and connect the signals.
#
# The node polls the link in _process, so heartbeats come from the game loop: when the
# game loop stalls, the console sees it. What the app must do:
# - make_safe(fade_s, reason): fade to the calm scene now. It fires for the console's
#   make_safe AND when the watchdog trips (the console's heartbeats stopped), then
#   report_status(calm scene, "safe") and, when the fade is done, report_make_safe_done();
# - connected(...): report_status() with the scene shown and every parameter's value;
# - set_parameter(...): apply (or refuse with refuse()) and report_applied();
# - prompt(...): show the rating and answer_prompt() with the patient's answer;
# - pairing_code(code, ...): show the six digits in the headset, so that the technician can
#   compare them with the console's before accepting this headset (first connection only).
#
# The link is encrypted (ZeroMQ CURVE). This headset's keys live in a keys file: keys_file,
# else the file named by the environment variable VRCLINIC_KEYS, else
# user://vrclinic_keys.json; a new key pair is made there when there is none.
extends Node

const Client = preload("client.gd")
const Messages = preload("messages.gd")

const WATCHDOG_FADE_S = 0.5

signal connected(console_name, resumed)
signal console_gone(reason)
signal console_back(after_s)
signal console_bye(reason, text)
signal refused(reason, text)
signal pairing(text)
signal pairing_code(code, console_name, pairing_open)
signal keys_problem(text)
signal connection_problem(text)
signal make_safe(fade_s, reason)
signal set_parameter(parameter, value, ramp_s, msg_id)
signal load_scene(scene_id, values, msg_id)
signal pause(msg_id)
signal resume(fade_s, msg_id)
signal prompt(prompt_id, kind, text, min_answer, max_answer, timeout_s)
signal marker(label, note, at)
signal mirror_settings(settings)
signal console_error(code, text, ref_type, ref_id)
signal message_received(message)

@export var console_host: String = "127.0.0.1"
@export var console_port: int = 5555
@export var headset_name: String = "godot-headset"
@export var app_version: String = "1.0"
@export var device: String = ""
@export var autostart: bool = true
@export var keys_file: String = ""
@export var pairing_port: int = 0  # 0: console_port + 1
# Key work (X25519) per frame while connecting, in milliseconds: a handshake takes about
# 120 ms of it in Godot 3, spread over frames so that none stalls for longer than this.
@export var crypto_budget_ms: float = 4.0

var client = null
var _scenes := []


func _ready() -> void:
	if autostart:
		start()


func _exit_tree() -> void:
	stop()


# "tcp://host:port": sets console_host and console_port; false when it is no such address.
func set_console_address(address: String) -> bool:
	var parsed := Client.parse_address(address)
	if parsed.size() == 0:
		return false
	console_host = parsed[0]
	console_port = parsed[1]
	return true


func start() -> void:
	if client != null:
		return
	client = Client.new()
	client.console_host = console_host
	client.console_port = console_port
	client.name = headset_name
	client.app_version = app_version
	client.device = device if device != "" else OS.get_model_name()
	client.engine = "Godot " + str(Engine.get_version_info()["string"])
	client.scenes = _scenes
	client.keys_path = keys_path()
	client.pairing_port = pairing_port
	client.crypto_budget_usec = int(crypto_budget_ms * 1000.0)
	client.start()
	set_process(true)


func stop(text: String = "The headset app is closing.") -> void:
	if client != null:
		client.close(text)
		client = null


func _process(_delta: float) -> void:
	if client == null:
		return
	for event in client.poll():
		_dispatch(event)


func is_linked() -> bool:
	return client != null and client.is_connected_to_console()


# Where this headset's keys are: keys_file, else $VRCLINIC_KEYS, else user://vrclinic_keys.json.
func keys_path() -> String:
	if keys_file != "":
		return keys_file
	var from_env := OS.get_environment("VRCLINIC_KEYS")
	return from_env if from_env != "" else "user://vrclinic_keys.json"


# The pairing code with the pinned console ("" before pairing).
func current_pairing_code() -> String:
	return "" if client == null else client.pairing_code()


# Forget the pinned console key and pair again.
func forget_console() -> bool:
	return client != null and client.forget_console()


# The engine clock the protocol's timestamps use (seconds).
func now() -> float:
	return Client.now()


# -- declaring scenes -----------------------------------------------------------------------


# A stimulus parameter for declare_scene(); the console shows it as a slider.
static func parameter(parameter_name: String, label: String, unit: String, min_value: float, max_value: float, step: float, default_value: float, intensity_increases: bool = true) -> Dictionary:
	return Messages.parameter_spec(parameter_name, label, unit, min_value, max_value, step, default_value, intensity_increases)


# Offer a scene; exactly one scene should be calm (the one make_safe fades to).
func declare_scene(scene_id: String, label: String, parameters: Array, calm: bool = false, description: String = "") -> void:
	for i in range(_scenes.size()):
		if _scenes[i]["id"] == scene_id:
			_scenes.remove_at(i)
			break
	_scenes.append(Messages.scene_spec(scene_id, label, parameters, description, calm))
	if client != null:
		client.scenes = _scenes
		if client.is_connected_to_console():
			client.send(Messages.scene_catalogue(_scenes))


func declared_scenes() -> Array:
	return _scenes


func declared_parameter(scene_id: String, parameter_name: String) -> Dictionary:
	for scene in _scenes:
		if scene["id"] == scene_id:
			for spec in scene["parameters"]:
				if spec["name"] == parameter_name:
					return spec
	return {}


func calm_scene_id() -> String:
	for scene in _scenes:
		if scene["calm"]:
			return scene["id"]
	return ""


# -- reporting ------------------------------------------------------------------------------


# What is shown now; values: {parameter name: applied value}. Returns the message id (-1: invalid).
func report_status(scene_id: String, scene_state: String, values: Dictionary, progress: float = 1.0, text: String = "") -> int:
	var parameters := []
	for key in values:
		parameters.append(Messages.parameter_value(key, float(values[key])))
	return _send(Messages.scene_status(scene_id, scene_state, progress, parameters, text))


# The value now shown; ref_id is the set_parameter's msg_id (-1 for ramp progress).
func report_applied(parameter_name: String, value: float, ref_id: int = -1, target = null, ramping: bool = false) -> int:
	var goal: float = value if target == null else float(target)
	return _send(Messages.parameter_applied(parameter_name, value, goal, ramping, now(), ref_id))


func answer_prompt(prompt_id: int, kind: String, value: int, shown_at: float, answered: bool = true) -> int:
	return _send(Messages.prompt_answer(prompt_id, kind, answered, shown_at, now(), value if answered else 0))


func report_make_safe_done(text: String = "The calm scene is fully shown.") -> int:
	return report_safety_event(Messages.SAFETY_KIND_MAKE_SAFE_DONE, text)


func report_safety_event(kind: String, text: String) -> int:
	return _send(Messages.safety_event(kind, text, now()))


# Refuse a console message (e.g. out_of_range, unknown_parameter, busy).
func refuse(code: String, text: String, ref_type: String, ref_id: int) -> int:
	return _send(Messages.error(code, text, ref_type, ref_id))


func send_marker(label: String, note: String = "") -> int:
	return _send(Messages.marker(label, now(), note))


func send_telemetry(head_position: Array, head_rotation: Array, fps: float, battery_pct: float = 100.0, charging: bool = false, temperature_c: float = 0.0) -> int:
	return _send(Messages.telemetry(now(), head_position, head_rotation, fps, battery_pct, charging, temperature_c))


# The newest JPEG of the patient's view (e.g. from Image.save_jpg_to_buffer in Godot 4);
# sent when the console asked for mirror frames and acknowledged the previous one.
func offer_mirror_frame(jpeg: PackedByteArray, width: int, height: int) -> void:
	if client != null:
		client.offer_frame(jpeg, width, height, now())


func send_message(message: Dictionary) -> int:
	return _send(message)


func _send(message: Dictionary) -> int:
	if client == null:
		return -1
	return client.send(message)


# -- incoming -------------------------------------------------------------------------------


func _dispatch(event: Dictionary) -> void:
	var kind: String = event["event"]
	if kind == "connected":
		emit_signal("connected", event["welcome"]["console_name"], event["resumed"])
	elif kind == "console_gone":
		emit_signal("console_gone", event["reason"])
		emit_signal("make_safe", WATCHDOG_FADE_S, "watchdog: " + event["reason"])
	elif kind == "console_back":
		emit_signal("console_back", event["after_s"])
	elif kind == "console_bye":
		emit_signal("console_bye", event["reason"], event["text"])
	elif kind == "refused":
		emit_signal("refused", event["reason"], event["text"])
	elif kind == "pairing":
		emit_signal("pairing", event["text"])
	elif kind == "pairing_code":
		emit_signal("pairing_code", event["code"], event["console_name"], event["pairing_open"])
	elif kind == "keys_problem":
		emit_signal("keys_problem", event["text"])
	elif kind == "connection_problem":
		emit_signal("connection_problem", event["text"])
	elif kind == "received":
		_on_received(event["id"], event["message"])


func _on_received(msg_id: int, msg: Dictionary) -> void:
	emit_signal("message_received", msg)
	var msg_type: String = msg["type"]
	if msg_type == "make_safe":
		emit_signal("make_safe", msg["fade_s"], msg["reason"])
	elif msg_type == "set_parameter":
		emit_signal("set_parameter", msg["name"], msg["value"], msg["ramp_s"], msg_id)
	elif msg_type == "load_scene":
		var values := {}
		for pv in msg["parameters"]:
			values[pv["name"]] = pv["value"]
		emit_signal("load_scene", msg["scene_id"], values, msg_id)
	elif msg_type == "pause":
		emit_signal("pause", msg_id)
	elif msg_type == "resume":
		emit_signal("resume", msg["fade_s"], msg_id)
	elif msg_type == "prompt":
		emit_signal("prompt", msg["prompt_id"], msg["kind"], msg["text"], msg["min"], msg["max"], msg["timeout_s"])
	elif msg_type == "marker":
		emit_signal("marker", msg["label"], msg["note"], msg["at"])
	elif msg_type == "mirror_settings":
		emit_signal("mirror_settings", msg)
	elif msg_type == "error":
		emit_signal("console_error", msg["code"], msg["text"], msg["ref_type"], msg["ref_id"])
