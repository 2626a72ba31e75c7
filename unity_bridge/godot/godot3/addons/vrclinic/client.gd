# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 3 variant of unity_bridge/godot/templates/client.gd.in: edit that, then regenerate.
# The engine's end of the link, without any node: pairing, the encrypted connection,
# handshake, heartbeats, clock offset, reconnection, the watchdog, mirror flow control and
# error replies. The GDScript counterpart of unity_bridge/client.py (same states, same
# timings, same events).
#
# Security (protocol 1.1): the link is ZeroMQ CURVE (zmtp.gd, nacl.gd) with this headset's
# key pair from its keys file (keys_path; keys.gd makes one there when there is none) and
# the console's public key pinned in the same file. A headset with no console key yet is
# paired first: it asks the console's pairing port (console_port + 1, unencrypted, public
# keys only) for the console's key with key_request, pins the console_key answer, reports
# the pairing code both sides show (the technician compares them before accepting on the
# console), then connects encrypted. There is no unencrypted mode for the console's port.
#
# Call poll() every frame from the game loop (the loop that would carry out a therapist's
# command: heartbeats are sent from it, never from a timer that keeps running when the
# game is stuck) and send() from the same thread. poll() returns the events the engine must
# act on, as dictionaries with an "event" key:
#   connected     {"welcome": Dictionary, "resumed": bool}: send scene_status now
#   console_gone  {"reason": String, "silent_for_s": float (-1 after a bye)}: make the scene safe NOW
#   console_back  {"after_s": float}: heartbeats count again; stay calm until told otherwise
#   console_bye   {"reason": String, "text": String}: the console ended the session
#   refused       {"reason": String, "text": String}: a person must act. version_mismatch,
#                 duplicate_name, not_paired, revoked and refused end the link (nothing more
#                 is sent); not_admitted (the console refused our key in the encrypted
#                 handshake) keeps trying, so that the headset connects by itself once a
#                 technician pairs it
#   pairing       {"text": String}: not paired yet: asking the console's pairing port, or
#                 pairing is not open on the console (asked again every 2 s)
#   pairing_code  {"code": String, "console_name": String, "pairing_open": bool}: show the
#                 code; the technician accepts the headset on the console if it matches
#   keys_problem  {"text": String}: the keys file is unusable; nothing connects
#   connection_problem {"text": String}: why the connection to the console fails (said
#                 once per new reason, not at every retry), e.g. an unencrypted console
#   received      {"id": int, "message": Dictionary}: a console message for the engine
#
# The engine's obligations: on console_gone and on a make_safe message, fade to the calm
# scene at once; after connected and after any change of scene or state, send
# scene_status; answer set_parameter with parameter_applied.
extends Reference

const Messages = preload("messages.gd")
const Codec = preload("codec.gd")
const Zmtp = preload("zmtp.gd")
const Nacl = preload("nacl.gd")
const Keys = preload("keys.gd")
const PeerClock = preload("peer_clock.gd")

# A hello is dropped while no connection is up, so it is retried; a console that sees a
# repeated hello on the same connection just welcomes again.
const HELLO_RETRY_S = 0.25
const MIRROR_ACK_TIMEOUT_S = 1.0
const ERRORS_PER_SECOND = 10.0
# Messages the client handles itself (some also reach the engine).
const LINK_LEVEL = ["welcome", "heartbeat", "mirror_ack", "mirror_settings", "bye", "error"]
# bye reasons that end the link: a person must act (SPEC.md section 4.2).
const REFUSALS = ["version_mismatch", "duplicate_name", "not_paired", "revoked", "refused"]
const FLOODING_PAUSE_S = 10.0  # after bye flooding, no hello before this
const PAIRING_ASK_S = 2.0  # key_request again while pairing is not open (SPEC: 1 to 5 s)
const NOT_ADMITTED_TEXT = "The console refused this headset's key: it is not paired with that console (or was removed). Ask the technician to open Devices, Pair a headset, on the console."

var console_host := "127.0.0.1"
var console_port := 5555
var name := "godot-headset"
var engine := "Godot 3"
var app_version := "1.0"
var device := ""
var scenes := []  # SceneSpec dictionaries (Messages.scene_spec)
var instance_id := ""
var watchdog_timeout_s := 0.5
var heartbeat_interval_s := 0.1
var lost_after_s := 2.0  # 4 x the watchdog timeout, from welcome
var keys_path := "user://vrclinic_keys.json"
var pairing_port := 0  # 0: console_port + 1
var pair_automatically := true  # without a console key: ask the pairing port for it
var crypto_budget_usec := 4000  # key work per poll() during a connection's handshake

var state := "connecting"  # pairing, connecting, connected, refused, closed
var keys = null  # keys.gd: this headset's key pair and the pinned console key
var welcome := {}
var mirror_settings: Dictionary = Messages.mirror_settings(false)
var console_gone := false  # the watchdog tripped (or bye) and heartbeats have not come back
var errors_from_console := []
var bad_errors_from_console := 0
var frames_sent := 0
var frames_replaced := 0
var dropped_sends := 0
var ignored_fields := 0
var ignored_types := 0
var last_send_error := ""

var _transport = null
var _pairing = null  # the NULL connection to the pairing port while pairing
var _not_admitted_said := false
var _key_unsaved := false  # the console key came from the pairing port: kept once welcomed
var _pairing_ask_at := -1.0
var _not_open_said := ""
var _problem_said := ""
var _startup_events := []
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
	return OS.get_ticks_usec() / 1000000.0


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


# Connect (and keep reconnecting) to the console, pairing first when the keys file has no
# console key. Set the properties above first. What happens is reported by poll().
func start() -> void:
	if instance_id == "":
		instance_id = random_token()
	_clock = PeerClock.new()
	_clock.late_after_s = watchdog_timeout_s
	state = "connecting"
	keys = Keys.new()
	keys.load_or_create(keys_path)
	if keys.problem != "":
		state = "refused"
		_startup_events.append({"event": "keys_problem", "text": keys.problem})
		return
	if keys.is_paired():
		_open_console()
	elif pair_automatically:
		_start_pairing()
	else:
		state = "refused"
		var text := "This headset is not paired with a console (its keys file %s has no console_public): pair it first." % keys_path
		_startup_events.append({"event": "refused", "reason": Messages.BYE_REASON_NOT_PAIRED, "text": text})


func _open_console() -> void:
	_transport = Zmtp.new()
	# The transport limit an engine keeps (SPEC.md section 9.3); frames over the control
	# limit are answered too_large without being decrypted (that would cost ~1 s each).
	_transport.max_message_bytes = Messages.MAX_CONTROL_FRAME_BYTES + 1024 + Zmtp.CURVE_MESSAGE_OVERHEAD
	_transport.max_open_bytes = Messages.MAX_CONTROL_FRAME_BYTES
	_transport.curve_server_key = keys.console_key
	_transport.curve_public_key = keys.public_key
	_transport.curve_secret_key = keys.secret_key
	_transport.crypto_budget_usec = crypto_budget_usec
	_transport.open(console_host, console_port, now())


func _start_pairing() -> void:
	state = "pairing"
	var port := pairing_port if pairing_port > 0 else console_port + 1
	_pairing = Zmtp.new()
	_pairing.max_message_bytes = 4096
	_pairing.open(console_host, port, now())
	var text := "This headset is not paired with a console yet: asking the console at %s:%d for its key; then compare the pairing code shown here with the one on the console." % [console_host, port]
	_startup_events.append({"event": "pairing", "text": text})


# Forget the pinned console key and pair again (with another console, or after the codes
# differed). False when the keys file could not be written (keys.problem says why).
func forget_console() -> bool:
	if keys == null:
		return false
	var saved: bool = keys.forget_console()
	if _transport != null:
		_transport.close()
		_transport = null
	state = "connecting"
	_start_pairing()
	return saved


func is_connected_to_console() -> bool:
	return state == "connected"


# Console clock minus engine clock (0 before the first estimate).
func clock_offset_s() -> float:
	return 0.0 if _clock == null else _clock.offset_s()


# Median round-trip time, -1 before the first estimate.
func rtt_s() -> float:
	return -1.0 if _clock == null else _clock.rtt_s()


func transport_error() -> String:
	if state == "pairing" and _pairing != null:
		return _pairing.last_error
	return "" if _transport == null else _transport.last_error


# The code both sides show while pairing ("" without both keys).
func pairing_code() -> String:
	if keys == null or not keys.is_paired():
		return ""
	return Keys.pairing_code(keys.console_key, keys.public_key)


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
func offer_frame(jpeg: PoolByteArray, width: int, height: int, captured_at: float) -> void:
	if _offered != null:
		frames_replaced += 1
	_frame_seq += 1
	_offered = {"seq": _frame_seq, "jpeg": jpeg, "width": width, "height": height, "captured_at": captured_at}


# Do the link's work; returns what the engine must act on. Never blocks.
func poll() -> Array:
	var events := _startup_events
	_startup_events = []
	if state == "pairing":
		_poll_pairing(events)
	if state == "closed" or _transport == null:
		return events
	for ev in _transport.poll(now()):
		var kind: String = ev["kind"]
		if kind == "up":
			_not_admitted_said = false
			_problem_said = ""
			# Every new connection starts with hello (SPEC.md section 4).
			if state == "connected":
				state = "connecting"
			if state == "connecting":
				_send_hello(now())
		elif kind == "down":
			if state == "connected":
				state = "connecting"  # the watchdog keeps timing the silence
			_in_flight_seq = -1
			if ev.get("refused", false):
				if not _not_admitted_said:
					_not_admitted_said = true  # said once, not at every attempt
					events.append({"event": "refused", "reason": "not_admitted", "text": NOT_ADMITTED_TEXT})
			elif ev["why"] != _problem_said:
				_problem_said = ev["why"]
				events.append({"event": "connection_problem", "text": ev["why"]})
		elif kind == "message":
			_on_message(ev["parts"], now(), events)
		elif kind == "oversize":
			var limit: int = Messages.MAX_CONTROL_FRAME_BYTES
			_reply_error(Codec.error_result("too_large", "frame of %d bytes exceeds %d" % [ev["bytes"], limit]))
	_housekeeping(now(), events)
	return events


func _poll_pairing(events: Array) -> void:
	if _pairing_ask_at >= 0.0 and now() >= _pairing_ask_at and _pairing.is_ready():
		_ask_console_key()
	for ev in _pairing.poll(now()):
		if ev["kind"] == "up":
			_problem_said = ""
			_ask_console_key()
		elif ev["kind"] == "down" and ev["why"] != _problem_said:
			_problem_said = ev["why"]
			events.append({"event": "connection_problem", "text": "pairing port: " + ev["why"]})
		elif ev["kind"] == "message" and ev["parts"].size() == 1:
			var result := Codec.decode(ev["parts"][0], "engine", true)
			if not result["ok"] or result["message"] == null or result["message"]["type"] != "console_key":
				continue
			var answer: Dictionary = result["message"]
			var console = Nacl.key_from_z85(answer["public_key"])
			if console == null:
				continue  # not a key: keep asking (the port may not be a vrclinic console)
			if not answer["pairing_open"]:
				# Asked again every PAIRING_ASK_S until the technician opens pairing.
				_pairing_ask_at = now() + PAIRING_ASK_S
				if _not_open_said != answer["console_name"]:
					_not_open_said = answer["console_name"]
					var text: String = "Pairing is not open on %s: on the console open Devices, Pair a headset." % answer["console_name"]
					events.append({"event": "pairing", "text": text})
				continue
			# Kept in memory; written to the keys file once this console welcomes us.
			keys.console_key = console
			_key_unsaved = true
			_pairing.close()
			_pairing = null
			_pairing_ask_at = -1.0
			state = "connecting"
			var code := Keys.pairing_code(keys.console_key, keys.public_key)
			events.append({"event": "pairing_code", "code": code, "console_name": answer["console_name"], "pairing_open": answer["pairing_open"]})
			_open_console()
			return


func _ask_console_key() -> void:
	_pairing_ask_at = -1.0
	_pairing.send([Codec.encode(Messages.key_request(name.substr(0, 64), keys.public_z85()), 1)["frame"]], now())


# Say bye and close the connection.
func close(text: String = "The headset app is closing.") -> void:
	if state == "closed":
		return
	if state == "connected":
		send(Messages.bye(Messages.BYE_REASON_SHUTDOWN, text))
	state = "closed"
	if _transport != null:
		_transport.close()
	if _pairing != null:
		_pairing.close()
		_pairing = null


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
func _decode(frame: PoolByteArray) -> Dictionary:
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


func _on_frame(frame: PoolByteArray, t: float, events: Array) -> void:
	var result := _decode(frame)
	if not result["ok"]:
		if result["ref_type"] == "error":
			# Never answer an error with an error (SPEC.md section 9.1): two peers would
			# echo each other's mistakes for ever. Logged and counted instead.
			bad_errors_from_console += 1
			push_warning("vrclinic: the console sent a broken error message: %s" % result["text"])
			return
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
		if not msg["enabled"]:
			_offered = null  # none while disabled, not even one being encrypted
			_transport.cancel_later()
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
	# Whatever the console counted before, its beats after a welcome may start from 0
	# (SPEC.md section 5): a number from before (even 2^53 - 1) must not make them look old.
	_clock.restart_sequence()
	if state != "connected":
		_beat_seq = 0  # ours restart only with the welcome we waited for
	if _key_unsaved:
		# Paired: this console welcomed us with the key from the pairing port; keep it.
		_key_unsaved = false
		if not keys.save():
			events.append({"event": "keys_problem", "text": "paired, but the console key could not be stored: %s" % keys.problem})
	_peer_minor = msg["protocol_minor"]
	var resumed := _had_session
	welcome = msg
	heartbeat_interval_s = msg["heartbeat_interval_ms"] / 1000.0
	# At least 3 intervals (SPEC.md section 4.3); lost after 4 watchdog timeouts.
	watchdog_timeout_s = max(msg["watchdog_timeout_ms"] / 1000.0, 3.0 * heartbeat_interval_s)
	lost_after_s = 4.0 * watchdog_timeout_s
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
	# Whatever the reason, the scene goes safe at once (SPEC.md section 4.2).
	if state == "connected" and not console_gone:
		_trip("the console said bye (%s: %s)" % [reason, msg["text"]], -1.0, t, events)
	if reason in REFUSALS:
		# Stop: nothing more on this connection until a person acts.
		state = "refused"
		if reason == Messages.BYE_REASON_NOT_PAIRED and _key_unsaved:
			keys.console_key = PoolByteArray()  # never welcomed with it: forget it
			_key_unsaved = false
		if _transport != null:
			_transport.close()
		events.append({"event": "refused", "reason": reason, "text": msg["text"]})
		return
	events.append({"event": "console_bye", "reason": reason, "text": msg["text"]})
	state = "connecting"
	_next_hello = t + (FLOODING_PAUSE_S if reason == Messages.BYE_REASON_FLOODING else HELLO_RETRY_S)


func _send_mirror_frame(t: float) -> void:
	if state != "connected" or not mirror_settings["enabled"] or _offered == null:
		return
	if _in_flight_seq >= 0 and t - _in_flight_at < MIRROR_ACK_TIMEOUT_S:
		return
	if _transport.is_sending_later():
		return  # the previous frame is still being encrypted
	var frame: Dictionary = _offered
	_offered = null
	var msg := Messages.mirror_frame(frame["seq"], frame["captured_at"], frame["width"], frame["height"], frame["jpeg"])
	var encoded := Codec.encode(msg, _next_id)
	_next_id += 1
	if not encoded["ok"]:
		last_send_error = encoded["text"]
		push_error("vrclinic: mirror frame not sent, %s" % encoded["text"])
		return
	# Encrypted a slice per frame (a 100 kB frame is about 0.1 s of work in Godot 3).
	if _transport.send_later(encoded["frame"], t):
		_in_flight_seq = frame["seq"]
		_in_flight_at = t
		frames_sent += 1
	else:
		dropped_sends += 1
