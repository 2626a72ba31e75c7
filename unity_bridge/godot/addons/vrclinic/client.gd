# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 4 variant of unity_bridge/godot/templates/client.gd.in: edit that, then regenerate.
# The engine's end of the link, without any node: handshake, heartbeats, clock offset,
# reconnection, the watchdog, mirror flow control and error replies. The GDScript
# counterpart of unity_bridge/client.py (same states, same timings, same events).
#
# Call poll() every frame from the game loop (the loop that would carry out a therapist's
# command: heartbeats are sent from it, never from a timer that keeps running when the
# game is stuck) and send() from the same thread. poll() returns the events the engine must
# act on, as dictionaries with an "event" key:
#   connected     {"welcome": Dictionary, "resumed": bool}: send scene_status now
#   console_gone  {"reason": String, "silent_for_s": float (-1 after a bye)}: make the scene safe NOW
#   console_back  {"after_s": float}: heartbeats count again; stay calm until told otherwise
#   console_bye   {"reason": String, "text": String}: the console ended the session
#   refused       {"reason": String, "text": String}: a person must act (version, name)
#   received      {"id": int, "message": Dictionary}: a console message for the engine
#
# The engine's obligations: on console_gone and on a make_safe message, fade to the calm
# scene at once; after connected and after any change of scene or state, send
# scene_status; answer set_parameter with parameter_applied.
extends RefCounted

const Messages = preload("messages.gd")
const Codec = preload("codec.gd")
const Zmtp = preload("zmtp.gd")
const PeerClock = preload("peer_clock.gd")

# A hello is dropped while no connection is up, so it is retried; a console that sees a
# repeated hello on the same connection just welcomes again.
const HELLO_RETRY_S = 0.25
const MIRROR_ACK_TIMEOUT_S = 1.0
const ERRORS_PER_SECOND = 10.0
# Messages the client handles itself (some also reach the engine).
const LINK_LEVEL = ["welcome", "heartbeat", "mirror_ack", "mirror_settings", "bye", "error"]

var console_host := "127.0.0.1"
var console_port := 5555
var name := "godot-headset"
var engine := "Godot 4"
var app_version := "1.0"
var device := ""
var scenes := []  # SceneSpec dictionaries (Messages.scene_spec)
var instance_id := ""
var watchdog_timeout_s := 0.5
var heartbeat_interval_s := 0.1
var lost_after_s := 2.0

var state := "connecting"  # connecting, connected, refused, closed
var welcome := {}
var mirror_settings: Dictionary = Messages.mirror_settings(false)
var console_gone := false  # the watchdog tripped (or bye) and heartbeats have not come back
var errors_from_console := []
var frames_sent := 0
var frames_replaced := 0
var dropped_sends := 0
var ignored_fields := 0
var ignored_types := 0
var last_send_error := ""

var _transport = null
var _clock = null
var _next_id := 1
var _beat_seq := 0
var _peer_minor := -1  # the console's minor version, once its welcome arrived
var _had_session := false
var _next_hello := 0.0
var _next_beat := 0.0
var _gone_at := -1.0
var _pending_reports := []
var _offered = null  # the newest mirror frame not sent yet
var _frame_seq := 0
var _in_flight_seq := -1  # the unacknowledged mirror frame, -1 when none
var _in_flight_at := 0.0
var _error_tokens := ERRORS_PER_SECOND
var _error_at := 0.0


# The engine's clock: monotonic seconds since the engine started.
static func now() -> float:
	return Time.get_ticks_usec() / 1000000.0


# "tcp://host:port" -> [host, port], or [] when it is not such an address.
static func parse_address(address: String) -> Array:
	var rest := address.strip_edges()
	if rest.begins_with("tcp://"):
		rest = rest.substr(6, rest.length() - 6)
	var colon := rest.rfind(":")
	if colon <= 0:
		return []
	var host := rest.substr(0, colon)
	var port_text := rest.substr(colon + 1, rest.length() - colon - 1)
	if host.begins_with("[") and host.ends_with("]"):
		host = host.substr(1, host.length() - 2)
	if host == "" or host == "*" or port_text == "" or str(port_text.to_int()) != port_text:
		return []
	var port := port_text.to_int()
	if port < 1 or port > 65535:
		return []
	return [host, port]


static func random_token() -> String:
	randomize()
	return "%08x%08x" % [randi(), randi()]


# Connect (and keep reconnecting) to the console. Set the properties above first.
func start() -> void:
	if instance_id == "":
		instance_id = random_token()
	_clock = PeerClock.new()
	_clock.late_after_s = watchdog_timeout_s
	_transport = Zmtp.new()
	_transport.open(console_host, console_port, now())
	state = "connecting"


func is_connected_to_console() -> bool:
	return state == "connected"


# Console clock minus engine clock (0 before the first estimate).
func clock_offset_s() -> float:
	return 0.0 if _clock == null else _clock.offset_s()


# Median round-trip time, -1 before the first estimate.
func rtt_s() -> float:
	return -1.0 if _clock == null else _clock.rtt_s()


func transport_error() -> String:
	return "" if _transport == null else _transport.last_error


# Send an engine -> console message now; returns its id, or -1 when the message is invalid
# (last_send_error says why). Dropped while the console is not connected: the engine
# resends its state after the next connected event.
func send(message: Dictionary) -> int:
	var msg_id := _next_id
	_next_id += 1
	var encoded := Codec.encode(message, msg_id)
	if not encoded["ok"]:
		last_send_error = encoded["text"]
		push_error("vrclinic: not sent, %s" % encoded["text"])
		return -1
	var msg_type: String = message["type"]
	if state == "connected" or msg_type == "hello" or msg_type == "bye":
		if _transport == null or not _transport.send([encoded["frame"]], now()):
			dropped_sends += 1
	else:
		dropped_sends += 1
	return msg_id


# Hand over the newest mirror frame (JPEG bytes). A frame not yet sent is replaced: only
# the newest is ever sent, and only when the previous one was acknowledged.
func offer_frame(jpeg: PackedByteArray, width: int, height: int, captured_at: float) -> void:
	if _offered != null:
		frames_replaced += 1
	_frame_seq += 1
	_offered = {"seq": _frame_seq, "jpeg": jpeg, "width": width, "height": height, "captured_at": captured_at}


# Do the link's work; returns what the engine must act on. Never blocks.
func poll() -> Array:
	var events := []
	if state == "closed" or _transport == null:
		return events
	for ev in _transport.poll(now()):
		var kind: String = ev["kind"]
		if kind == "up":
			# Every new connection starts with hello (SPEC.md section 4).
			if state == "connected":
				state = "connecting"
			if state == "connecting":
				_send_hello(now())
		elif kind == "down":
			if state == "connected":
				state = "connecting"  # the watchdog keeps timing the silence
			_in_flight_seq = -1
		elif kind == "message":
			_on_message(ev["parts"], now(), events)
	_housekeeping(now(), events)
	return events


# Say bye and close the connection.
func close(text: String = "The headset app is closing.") -> void:
	if state == "closed":
		return
	if state == "connected":
		send(Messages.bye(Messages.BYE_REASON_SHUTDOWN, text))
	state = "closed"
	if _transport != null:
		_transport.close()


# -- internals ------------------------------------------------------------------------------


func _housekeeping(t: float, events: Array) -> void:
	if state == "connecting" and _transport.is_ready() and t >= _next_hello:
		_send_hello(t)
	# The watchdog times the console's silence whatever the transport does: a dropped
	# connection is a silent console too.
	if _had_session and not console_gone:
		var silent: float = _clock.silent_for(t)
		if silent > watchdog_timeout_s:
			_trip("no heartbeat from the console for %d ms" % int(silent * 1000.0), silent, t, events)
	if state != "connected":
		return
	if _clock.silent_for(t) > lost_after_s:
		# Start over: hello again until the console (or its successor) welcomes us.
		state = "connecting"
		_in_flight_seq = -1
		_send_hello(t)
		return
	if t >= _next_beat:
		_next_beat = max(_next_beat + heartbeat_interval_s, t)
		send(_clock.heartbeat(_beat_seq, t))
		_beat_seq += 1
	_send_mirror_frame(t)


func _trip(why: String, silent: float, t: float, events: Array) -> void:
	console_gone = true
	_gone_at = t
	events.append({"event": "console_gone", "reason": why, "silent_for_s": silent})
	var report := Messages.safety_event(Messages.SAFETY_KIND_WATCHDOG, "Watchdog: %s; faded to the calm scene." % why, t)
	_pending_reports.append(report)


func _send_hello(t: float) -> void:
	_next_hello = t + HELLO_RETRY_S
	var major: int = Messages.PROTOCOL_MAJOR
	var minor: int = Messages.PROTOCOL_MINOR
	send(Messages.hello(name, instance_id, major, minor, engine, app_version, t, device, _had_session))


func _on_message(parts: Array, t: float, events: Array) -> void:
	if parts.size() != 1:
		var problem := "a message must be 1 frame, got %d" % parts.size()
		_reply_error(Codec.error_result("malformed", problem))
		return
	_on_frame(parts[0], t, events)


func _reply_error(result: Dictionary) -> void:
	if state == "refused":
		return
	var t := now()
	_error_tokens = min(ERRORS_PER_SECOND, _error_tokens + (t - _error_at) * ERRORS_PER_SECOND)
	_error_at = t
	if _error_tokens >= 1.0:
		_error_tokens -= 1.0
		send(Codec.error_message(result))


# Before the console's version is known, frames are read leniently so that a welcome from
# a newer console can be understood (unknown fields are tolerated only when that message
# itself announces another version); afterwards leniently only for a newer minor.
func _decode(frame: PackedByteArray) -> Dictionary:
	if _peer_minor < 0:
		var first := Codec.decode(frame, "engine", true)
		if not first["ok"]:
			return first
		if first["message"] == null:
			var envelope := Codec.peek_envelope(frame)
			return Codec.error_result("unknown_type", "unknown message type", envelope[0], "", envelope[1])
		var msg: Dictionary = first["message"]
		var other_version := false
		if msg.has("protocol_major"):
			var newer: bool = msg["protocol_minor"] > Messages.PROTOCOL_MINOR
			other_version = msg["protocol_major"] != Messages.PROTOCOL_MAJOR or newer
		if first["ignored"].size() > 0 and not other_version:
			var problem := "unknown field(s) %s (not in protocol %s)" % [Codec.join(first["ignored"], ", "), Messages.PROTOCOL_VERSION]
			return Codec.error_result("invalid_field", problem, msg["type"], "", first["id"])
		ignored_fields += first["ignored"].size()
		return first
	var result := Codec.decode(frame, "engine", _peer_minor > Messages.PROTOCOL_MINOR)
	if result["ok"]:
		if result["message"] == null:
			ignored_types += 1
		else:
			ignored_fields += result["ignored"].size()
	return result


func _on_frame(frame: PackedByteArray, t: float, events: Array) -> void:
	var result := _decode(frame)
	if not result["ok"]:
		_reply_error(result)
		return
	var msg = result["message"]
	if msg == null:
		return  # an unknown type from a newer console: ignored and counted
	var msg_type: String = msg["type"]
	if not (msg_type in LINK_LEVEL):  # the common case: something for the engine to act on
		if state == "connected":
			events.append({"event": "received", "id": result["id"], "message": msg})
		return
	if msg_type == "welcome":
		_on_welcome(msg, t, events)
	elif msg_type == "heartbeat":
		if state == "connected" and _clock.on_heartbeat(msg, t) and console_gone:
			_console_back(t, events)
	elif msg_type == "mirror_ack":
		if _in_flight_seq >= 0 and msg["seq"] == _in_flight_seq:
			_in_flight_seq = -1
	elif msg_type == "mirror_settings":
		mirror_settings = msg
		if state == "connected":
			events.append({"event": "received", "id": result["id"], "message": msg})
	elif msg_type == "bye":
		_on_bye(msg, t, events)
	elif msg_type == "error" and msg["code"] == Messages.ERROR_CODE_NOT_CONNECTED:
		# The console does not know us (it restarted): introduce ourselves again.
		if state == "connected":
			state = "connecting"
			_send_hello(t)
	else:
		if msg_type == "error":
			errors_from_console.append(msg)
		if state == "connected":
			events.append({"event": "received", "id": result["id"], "message": msg})


func _on_welcome(msg: Dictionary, t: float, events: Array) -> void:
	if msg["protocol_major"] != Messages.PROTOCOL_MAJOR:
		var versions := [msg["console_name"], msg["protocol_major"], msg["protocol_minor"], Messages.PROTOCOL_VERSION]
		var text := "Console '%s' speaks protocol %d.%d, this headset app speaks %s: update the older of the two." % versions
		send(Messages.bye(Messages.BYE_REASON_VERSION_MISMATCH, text))
		state = "refused"
		events.append({"event": "refused", "reason": Messages.BYE_REASON_VERSION_MISMATCH, "text": text})
		return
	if welcome.size() > 0 and welcome["session_id"] != msg["session_id"]:
		_clock.reset()  # another console session (perhaps another process): a new clock
	_peer_minor = msg["protocol_minor"]
	var resumed := _had_session
	welcome = msg
	heartbeat_interval_s = msg["heartbeat_interval_ms"] / 1000.0
	watchdog_timeout_s = msg["watchdog_timeout_ms"] / 1000.0
	_clock.late_after_s = watchdog_timeout_s
	_clock.add_sample(msg["echo_sent_at"], msg["echo_received_at"], msg["sent_at"], t)
	_clock.last_counted_at = t
	state = "connected"
	_had_session = true
	_next_beat = t
	_in_flight_seq = -1
	send(Messages.scene_catalogue(scenes))
	if console_gone:
		_console_back(t, events)
	events.append({"event": "connected", "welcome": msg, "resumed": resumed})


func _console_back(t: float, events: Array) -> void:
	console_gone = false
	for report in _pending_reports:
		send(report)
	_pending_reports = []
	events.append({"event": "console_back", "after_s": t - (_gone_at if _gone_at >= 0.0 else t)})


func _on_bye(msg: Dictionary, t: float, events: Array) -> void:
	var reason: String = msg["reason"]
	if reason == Messages.BYE_REASON_VERSION_MISMATCH or reason == Messages.BYE_REASON_DUPLICATE_NAME:
		state = "refused"
		events.append({"event": "refused", "reason": reason, "text": msg["text"]})
		return
	if state == "connected" and not console_gone:
		_trip("the console said bye (%s: %s)" % [reason, msg["text"]], -1.0, t, events)
	events.append({"event": "console_bye", "reason": reason, "text": msg["text"]})
	state = "connecting"
	_next_hello = t + HELLO_RETRY_S


func _send_mirror_frame(t: float) -> void:
	if state != "connected" or not mirror_settings["enabled"] or _offered == null:
		return
	if _in_flight_seq >= 0 and t - _in_flight_at < MIRROR_ACK_TIMEOUT_S:
		return
	var frame: Dictionary = _offered
	_offered = null
	var msg := Messages.mirror_frame(frame["seq"], frame["captured_at"], frame["width"], frame["height"], frame["jpeg"])
	if send(msg) >= 0:
		_in_flight_seq = frame["seq"]
		_in_flight_at = t
		frames_sent += 1
