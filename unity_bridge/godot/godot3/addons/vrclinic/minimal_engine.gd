# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 3 variant of unity_bridge/godot/templates/minimal_engine.gd.in: edit that, then regenerate.
# A minimal well-behaved engine on VrclinicLink: the worked example of the addon, and the
# Godot client that the conformance suite and the interop test run (headless).
#
# It declares a "practice" scene with two parameters and a calm scene, applies
# set_parameter within the declared range (ramped when asked) and reports every applied
# value, refuses what it cannot do with an error (out_of_range, unknown_parameter,
# unknown_scene, busy), answers every prompt with a fixed value, makes the scene safe on
# make_safe and when the watchdog trips (scene_status "safe", then safety_event
# make_safe_done when the fade is over), makes its scene safe on the console's bye and
# says hello again (a console that comes back welcomes it), and sends mirror frames when
# the console asks (a fixed 16 x 12 picture: a headless engine has no view to capture; a
# real app sends get_viewport().get_texture().get_image().save_jpg_to_buffer() in Godot 4).
#
# Made the root of a scene, it reads its settings from the command line (after "--") or
# the environment:
#   --console tcp://HOST:PORT   or VRCLINIC_CONSOLE   (default tcp://127.0.0.1:5555)
#   --name NAME                 or VRCLINIC_HEADSET   (default godot-headset)
#   --keys PATH                 or VRCLINIC_KEYS      (default user://vrclinic_keys.json;
#                               made, with a new key pair, when there is none)
#   --pairing-port N            the console's pairing port (default: the console's port + 1)
#   --answer N                  the answer to every prompt (default 42)
#   --quit-after SECONDS        quit by itself after this long (default: never)
# Exit codes: 0 after --quit-after, 2 for bad arguments or an unusable keys file, 3 when
# the console refused the headset (version, name, not paired, revoked). A key the console
# does not admit (yet) is reported and retried: it connects once it is paired. After a bye
# shutdown it keeps saying hello until a console welcomes it.
extends Node

const LinkScript = preload("vrclinic_link.gd")
const Messages = preload("messages.gd")

const SCENE_ID = "practice"
const CALM_SCENE_ID = "calm"
const APPLIED_REPORT_S = 0.1
const LOAD_TIME_S = 0.2
# The mirror picture: a 16 x 12 JPEG (a colour gradient).
const MIRROR_JPEG_BASE64 = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAMABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCpDbe1X4bb2qWGNfSr0Ma+lb1KrObBV3of/9k="
const MIRROR_WIDTH = 16
const MIRROR_HEIGHT = 12
const SIGNAL_HANDLERS = [
	["connected", "_on_connected"],
	["console_gone", "_on_console_gone"],
	["console_back", "_on_console_back"],
	["console_bye", "_on_console_bye"],
	["refused", "_on_refused"],
	["pairing", "_on_pairing"],
	["pairing_code", "_on_pairing_code"],
	["keys_problem", "_on_keys_problem"],
	["connection_problem", "_on_connection_problem"],
	["mirror_settings", "_on_mirror_settings"],
	["make_safe", "_on_make_safe"],
	["set_parameter", "_on_set_parameter"],
	["load_scene", "_on_load_scene"],
	["pause", "_on_pause"],
	["resume", "_on_resume"],
	["prompt", "_on_prompt"],
	["console_error", "_on_console_error"],
]

export var prompt_answer: int = 42
export var answer_delay_s: float = 0.2

var link = null
var scene_id := SCENE_ID
var scene_state := "running"
var values := {}
var quit_after_s := -1.0
var _before_safe = null  # [scene id, values] shown before make_safe
var _ramps := {}  # parameter -> {from, to, started_at, duration, last_report}
var _fade_done_at := -1.0
var _loading_until := -1.0
var _answers := []
var _started_at := 0.0
var _mirror_every_s := -1.0  # < 0: the console has not asked for mirror frames
var _mirror_next_at := 0.0
var _mirror_jpeg: PoolByteArray = Marshalls.base64_to_raw(MIRROR_JPEG_BASE64)


# The arguments after "--" on Godot's command line.
static func user_args() -> Array:
	var all_args := Array(OS.get_cmdline_args())
	var out := []
	var at := all_args.find("--")
	if at >= 0:
		for i in range(at + 1, all_args.size()):
			out.append(all_args[i])
	return out


# --flag VALUE from args, else the environment variable, else fallback.
static func option(args: Array, flag: String, variable: String, fallback: String) -> String:
	var at := args.find(flag)
	if at >= 0 and at + 1 < args.size():
		return str(args[at + 1])
	var from_env := OS.get_environment(variable) if variable != "" else ""
	return from_env if from_env != "" else fallback


func _ready() -> void:
	var args := user_args()
	var address := option(args, "--console", "VRCLINIC_CONSOLE", "tcp://127.0.0.1:5555")
	var headset := option(args, "--name", "VRCLINIC_HEADSET", "godot-headset")
	prompt_answer = int(option(args, "--answer", "", str(prompt_answer)))
	quit_after_s = float(option(args, "--quit-after", "", "-1"))
	link = LinkScript.new()
	link.autostart = false
	link.headset_name = headset
	link.app_version = "vrclinic minimal engine"
	link.keys_file = option(args, "--keys", "VRCLINIC_KEYS", "")
	link.pairing_port = int(option(args, "--pairing-port", "", "0"))
	if not link.set_console_address(address):
		printerr("vrclinic: %s is not a console address (expected tcp://HOST:PORT)" % address)
		get_tree().quit(2)
		return
	add_child(link)
	var distance = LinkScript.parameter("distance", "Distance", "m", 0.5, 5.0, 0.1, 3.0, false)
	var intensity = LinkScript.parameter("intensity", "Intensity", "", 0.0, 10.0, 1.0, 2.0, true)
	link.declare_scene(SCENE_ID, "Practice room", [distance, intensity], false, "A plain room for practice.")
	link.declare_scene(CALM_SCENE_ID, "Calm beach", [], true, "Waves on a quiet beach.")
	for pair in SIGNAL_HANDLERS:
		link.connect(pair[0], self, pair[1])
	values = _defaults(SCENE_ID)
	_started_at = link.now()
	link.start()
	_log("headset %s connecting to %s:%d" % [headset, link.console_host, link.console_port])


func _log(line: String) -> void:
	print("vrclinic-godot: " + line)


func _defaults(id: String) -> Dictionary:
	var out := {}
	for scene in link.declared_scenes():
		if scene["id"] == id:
			for spec in scene["parameters"]:
				out[spec["name"]] = spec["default"]
	return out


func _has_scene(id: String) -> bool:
	for scene in link.declared_scenes():
		if scene["id"] == id:
			return true
	return false


func _send_status(progress: float = 1.0) -> void:
	if scene_state == "safe":
		link.report_status(CALM_SCENE_ID, scene_state, {}, progress)
	else:
		link.report_status(scene_id, scene_state, values, progress)


# -- the console's commands -------------------------------------------------------------


func _on_connected(console_name: String, resumed: bool) -> void:
	_log("connected to console '%s'%s" % [console_name, " (resumed)" if resumed else ""])
	_send_status()


func _on_console_gone(reason: String) -> void:
	_log("CONSOLE GONE: %s" % reason)


func _on_console_back(after_s: float) -> void:
	_log("console back after %.1f s; the scene stays calm until it says otherwise" % after_s)


func _on_console_bye(reason: String, text: String) -> void:
	_log("the console said bye (%s): %s; saying hello until a console welcomes this headset again" % [reason, text])


func _on_mirror_settings(settings: Dictionary) -> void:
	# Never more often than asked, never wider (the picture is 16 px wide).
	var wide_enough: bool = settings["max_width"] >= MIRROR_WIDTH
	_mirror_every_s = 1.0 / settings["max_fps"] if settings["enabled"] and settings["max_fps"] > 0 and wide_enough else -1.0
	_log("mirror %s" % ("on, %s fps" % str(settings["max_fps"]) if _mirror_every_s > 0.0 else "off"))


func _on_refused(reason: String, text: String) -> void:
	printerr("vrclinic-godot: REFUSED by the console (%s): %s" % [reason, text])
	if reason != "not_admitted":  # not admitted: it keeps trying until a technician pairs it
		get_tree().quit(3)


func _on_pairing(text: String) -> void:
	_log(text)


func _on_pairing_code(code: String, console_name: String, pairing_open: bool) -> void:
	var state := "open" if pairing_open else "NOT open: ask the technician to open Devices, Pair a headset"
	_log("PAIRING CODE %s (console '%s'; pairing on the console is %s)" % [code, console_name, state])


func _on_connection_problem(text: String) -> void:
	_log("cannot connect: " + text)


func _on_keys_problem(text: String) -> void:
	printerr("vrclinic-godot: the keys file is unusable: %s" % text)
	get_tree().quit(2)


func _on_console_error(code: String, text: String, _ref_type: String, _ref_id: int) -> void:
	_log("the console reported an error (%s): %s" % [code, text])


func _on_make_safe(fade_s: float, reason: String) -> void:
	if scene_state != "safe":
		_before_safe = [scene_id, values.duplicate()]
	_ramps = {}
	scene_state = "safe"
	_loading_until = -1.0
	_fade_done_at = link.now() + fade_s
	_log("making safe (%s), fade %.1f s" % [reason, fade_s])
	_send_status()


func _on_set_parameter(parameter: String, value: float, ramp_s: float, msg_id: int) -> void:
	if scene_state == "safe" or scene_state == "loading":
		var why := "the scene is calm after make safe: resume or load a scene first" if scene_state == "safe" else "the scene is still loading"
		link.refuse(Messages.ERROR_CODE_BUSY, "cannot set %s: %s" % [parameter, why], "set_parameter", msg_id)
		return
	var spec: Dictionary = link.declared_parameter(scene_id, parameter)
	if spec.size() == 0:
		var problem := "scene '%s' has no parameter '%s'" % [scene_id, parameter]
		link.refuse(Messages.ERROR_CODE_UNKNOWN_PARAMETER, problem, "set_parameter", msg_id)
		return
	if value < spec["min"] or value > spec["max"]:
		var problem := "%s = %s is outside %s ... %s %s" % [parameter, str(value), str(spec["min"]), str(spec["max"]), spec["unit"]]
		link.refuse(Messages.ERROR_CODE_OUT_OF_RANGE, problem, "set_parameter", msg_id)
		return
	var t: float = link.now()
	if ramp_s <= 0.0:
		values[parameter] = value
		_ramps.erase(parameter)
		link.report_applied(parameter, value, msg_id)
	else:
		_ramps[parameter] = {"from": values[parameter], "to": value, "started_at": t, "duration": ramp_s, "last_report": t}
		link.report_applied(parameter, values[parameter], msg_id, value, true)
	_log("set %s to %s over %.1f s" % [parameter, str(value), ramp_s])


func _on_load_scene(id: String, start_values: Dictionary, msg_id: int) -> void:
	if not _has_scene(id):
		link.refuse(Messages.ERROR_CODE_UNKNOWN_SCENE, "no scene '%s'" % id, "load_scene", msg_id)
		return
	var fresh := _defaults(id)
	for key in start_values:
		var spec: Dictionary = link.declared_parameter(id, key)
		if spec.size() == 0:
			link.refuse(Messages.ERROR_CODE_UNKNOWN_PARAMETER, "scene '%s' has no '%s'" % [id, key], "load_scene", msg_id)
			return
		if start_values[key] < spec["min"] or start_values[key] > spec["max"]:
			var problem := "%s = %s is outside %s ... %s" % [key, str(start_values[key]), str(spec["min"]), str(spec["max"])]
			link.refuse(Messages.ERROR_CODE_OUT_OF_RANGE, problem, "load_scene", msg_id)
			return
		fresh[key] = float(start_values[key])
	scene_id = id
	values = fresh
	_ramps = {}
	_before_safe = null
	_fade_done_at = -1.0
	scene_state = "loading"
	_loading_until = link.now() + LOAD_TIME_S
	_log("loading scene %s" % id)
	_send_status(0.0)


func _on_pause(_msg_id: int) -> void:
	if scene_state == "running":
		scene_state = "paused"
		_log("paused")
		_send_status()


func _on_resume(fade_s: float, _msg_id: int) -> void:
	if scene_state == "paused":
		scene_state = "running"
	elif scene_state == "safe" and _before_safe != null:
		scene_id = _before_safe[0]
		values = _before_safe[1]
		_before_safe = null
		_fade_done_at = -1.0
		scene_state = "running"
		_log("back from calm to %s over %.1f s" % [scene_id, fade_s])
	else:
		return
	_send_status()


func _on_prompt(prompt_id: int, kind: String, text: String, min_answer: int, max_answer: int, timeout_s: float) -> void:
	var t: float = link.now()
	var answer := int(clamp(prompt_answer, min_answer, max_answer))
	_answers.append({"id": prompt_id, "kind": kind, "value": answer, "shown_at": t, "answer_at": t + answer_delay_s, "expires_at": t + timeout_s})
	_log("prompt shown: %s" % text)


# -- the game loop ----------------------------------------------------------------------


func _process(_delta: float) -> void:
	if link == null:
		return
	var t: float = link.now()
	if quit_after_s >= 0.0 and t - _started_at > quit_after_s:
		_log("quitting after %.1f s" % quit_after_s)
		link.stop()
		get_tree().quit(0)
		return
	if scene_state == "running":
		for parameter in _ramps.keys():
			var ramp: Dictionary = _ramps[parameter]
			var frac: float = 1.0 if ramp["duration"] <= 0.0 else min(1.0, (t - ramp["started_at"]) / ramp["duration"])
			values[parameter] = ramp["from"] + (ramp["to"] - ramp["from"]) * frac
			if frac >= 1.0:
				values[parameter] = ramp["to"]
				_ramps.erase(parameter)
				link.report_applied(parameter, values[parameter])
			elif t - ramp["last_report"] >= APPLIED_REPORT_S:
				ramp["last_report"] = t
				link.report_applied(parameter, values[parameter], -1, ramp["to"], true)
	if scene_state == "loading" and _loading_until >= 0.0 and t >= _loading_until:
		_loading_until = -1.0
		scene_state = "running"
		_log("scene %s running" % scene_id)
		_send_status()
	if scene_state == "safe" and _fade_done_at >= 0.0 and t >= _fade_done_at:
		_fade_done_at = -1.0
		link.report_make_safe_done()
		_log("the calm scene is fully shown")
	if _mirror_every_s > 0.0 and t >= _mirror_next_at:
		_mirror_next_at = t + _mirror_every_s
		link.offer_mirror_frame(_mirror_jpeg, MIRROR_WIDTH, MIRROR_HEIGHT)
	var due := []
	for answer in _answers:
		if t >= min(answer["answer_at"], answer["expires_at"]):
			due.append(answer)
	for answer in due:
		_answers.erase(answer)
		var answered: bool = answer["answer_at"] <= answer["expires_at"]
		link.answer_prompt(answer["id"], answer["kind"], answer["value"], answer["shown_at"], answered)
		_log("answered prompt %d with %d" % [answer["id"], answer["value"]] if answered else "prompt %d expired" % answer["id"])
