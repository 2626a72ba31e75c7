# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 3 variant of unity_bridge/godot/templates/zmtp.gd.in: edit that, then regenerate.
# A ZeroMQ DEALER socket in GDScript: ZMTP 3.1 (RFC 37, which 3.0 peers of RFC 23 also
# understand) with the NULL security mechanism, over StreamPeerTCP. Enough for an engine
# talking to the console's ROUTER:
#
# - greeting: signature, version 3.1, mechanism NULL, as-server 0; then a READY command
#   with Socket-Type DEALER and an empty Identity; the peer's READY must name a socket
#   type a DEALER may talk to (ROUTER, DEALER or REP);
# - frames: short (1-byte size) and long (8-byte size), the MORE flag (parts of one
#   message are collected; the protocol sends single-part messages), command frames;
# - PING/PONG (ZMTP heartbeats, as libzmq's ZMQ_HEARTBEAT_IVL 1000 / TIMEOUT 3000): the
#   connection is dropped when nothing at all arrives for 3 s;
# - reconnection after 100 ms, backing off to 1 s (RECONNECT_IVL / _MAX);
# - nothing is queued while the connection is down (IMMEDIATE): send() returns false;
# - a frame longer than the protocol allows drops the connection unread (MAXMSGSIZE).
#
# Not a general ZeroMQ: no CURVE/PLAIN, no other socket types, one peer.
#
# Drive it from one thread: open(), then poll(now) every frame; poll returns events
# {"kind": "up"}, {"kind": "down", "why": text, "was_ready": bool} and
# {"kind": "message", "parts": [bytes, ...]}.
extends Reference

const Messages = preload("messages.gd")

const RECONNECT_IVL_S = 0.1
const RECONNECT_IVL_MAX_S = 1.0
const HEARTBEAT_IVL_S = 1.0
const HEARTBEAT_TIMEOUT_S = 3.0
const HANDSHAKE_TIMEOUT_S = 3.0
const GREETING_BYTES = 64
const FLAG_MORE = 0x01
const FLAG_LONG = 0x02
const FLAG_COMMAND = 0x04
const PEER_TYPES = ["ROUTER", "DEALER", "REP"]  # what a DEALER may be connected to

enum { DOWN, CONNECTING, GREETING, HANDSHAKE, READY, CLOSED }

var state := DOWN
var host := ""
var port := 0
var last_error := ""
var peer_socket_type := ""
var peer_version := ""
var connections := 0  # handshakes completed
var max_message_bytes: int = Messages.MAX_FRAME_BYTES + 1024
var _tcp: StreamPeerTCP = null
var _rx: PoolByteArray = PoolByteArray()
var _rx_pos := 0
var _parts := []
var _parts_bytes := 0
var _retry_at := 0.0
var _retry_ivl := RECONNECT_IVL_S
var _deadline := 0.0
var _last_rx := 0.0
var _next_ping := 0.0
var _events := []  # what poll() returns next (a failed send() queues its "down" here too)


static func slice(data: PoolByteArray, from: int, to: int) -> PoolByteArray:
	if to <= from:
		return PoolByteArray()
	return data.subarray(from, to - 1)


static func ascii(text: String) -> PoolByteArray:
	return text.to_ascii()


# Connect to host:port (at once on the next poll) and keep reconnecting until close().
func open(p_host: String, p_port: int, t: float) -> void:
	host = p_host
	port = p_port
	state = DOWN
	_retry_at = t
	_retry_ivl = RECONNECT_IVL_S


func close() -> void:
	if _tcp != null:
		_tcp.disconnect_from_host()
	_tcp = null
	state = CLOSED


func is_ready() -> bool:
	return state == READY


# Send one message (all parts but the last get the MORE flag); false when not connected.
func send(parts: Array, t: float) -> bool:
	if state != READY:
		return false
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	for i in range(parts.size()):
		_put_frame(out, parts[i], FLAG_MORE if i < parts.size() - 1 else 0)
	return _write(out.data_array, t)


func poll(t: float) -> Array:
	if state == CLOSED:
		return []
	if state == DOWN:
		if t >= _retry_at:
			_start(t)
		return _take_events()
	var status := _tcp.get_status()
	if state == CONNECTING:
		if status == StreamPeerTCP.STATUS_CONNECTING:
			if t > _deadline:
				_drop("no answer from %s:%d" % [host, port], t)
			return _take_events()
		if status != StreamPeerTCP.STATUS_CONNECTED:
			_drop("could not connect to %s:%d" % [host, port], t)
			return _take_events()
		_tcp.set_no_delay(true)
		state = GREETING
		_deadline = t + HANDSHAKE_TIMEOUT_S
		if not _write(_greeting(), t):
			return _take_events()
	if status != StreamPeerTCP.STATUS_CONNECTED:
		_drop("the connection was closed", t)
		return _take_events()
	var available := _tcp.get_available_bytes()
	if available > 0:
		var got: Array = _tcp.get_partial_data(available)
		if got[0] != OK:
			_drop("reading failed (error %d)" % got[0], t)
			return _take_events()
		_rx.append_array(got[1])
		_last_rx = t
	_parse(t)
	if state == GREETING or state == HANDSHAKE:
		if t > _deadline:
			_drop("ZMTP handshake not completed within %d s" % int(HANDSHAKE_TIMEOUT_S), t)
	elif state == READY:
		if t - _last_rx > HEARTBEAT_TIMEOUT_S:
			_drop("nothing received for %d s" % int(HEARTBEAT_TIMEOUT_S), t)
		elif t >= _next_ping:
			_next_ping = t + HEARTBEAT_IVL_S
			# PING: TTL in tenths of a second (the peer may drop us after that), no context.
			var ping := StreamPeerBuffer.new()
			ping.big_endian = true
			ping.put_u8(4)
			ping.put_data(ascii("PING"))
			ping.put_u16(int(HEARTBEAT_TIMEOUT_S * 10))
			_send_command(ping.data_array, t)
	return _take_events()


func _take_events() -> Array:
	var out := _events
	_events = []
	return out


# -- internals ------------------------------------------------------------------------------


func _start(t: float) -> void:
	_tcp = StreamPeerTCP.new()
	_rx = PoolByteArray()
	_rx_pos = 0
	_parts = []
	_parts_bytes = 0
	var err := _tcp.connect_to_host(host, port)
	if err != OK:
		_drop("cannot connect to %s:%d (error %d)" % [host, port, err], t)
		return
	state = CONNECTING
	_deadline = t + HANDSHAKE_TIMEOUT_S


func _drop(why: String, t: float) -> void:
	var was_ready := state == READY
	if _tcp != null:
		_tcp.disconnect_from_host()
	_tcp = null
	state = DOWN
	last_error = why
	_rx = PoolByteArray()
	_rx_pos = 0
	_parts = []
	_parts_bytes = 0
	_retry_at = t + _retry_ivl
	_retry_ivl = min(_retry_ivl * 2.0, RECONNECT_IVL_MAX_S)
	_events.append({"kind": "down", "why": why, "was_ready": was_ready})


func _write(data: PoolByteArray, t: float) -> bool:
	var err := _tcp.put_data(data)
	if err != OK:
		_drop("writing failed (error %d)" % err, t)
		return false
	return true


func _greeting() -> PoolByteArray:
	var out := StreamPeerBuffer.new()
	out.put_u8(0xff)  # signature: 0xFF, 8 bytes of padding, 0x7F
	for i in range(8):
		out.put_u8(0)
	out.put_u8(0x7f)
	out.put_u8(3)  # version 3.1
	out.put_u8(1)
	var mechanism := ascii("NULL")
	out.put_data(mechanism)
	for i in range(20 - mechanism.size()):
		out.put_u8(0)
	out.put_u8(0)  # as-server: we are the client
	for i in range(31):  # filler
		out.put_u8(0)
	return out.data_array


static func _put_frame(out: StreamPeerBuffer, body: PoolByteArray, flags: int) -> void:
	if body.size() > 255:
		out.put_u8(flags | FLAG_LONG)
		out.put_u64(body.size())
	else:
		out.put_u8(flags)
		out.put_u8(body.size())
	out.put_data(body)


func _send_command(body: PoolByteArray, t: float) -> bool:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	_put_frame(out, body, FLAG_COMMAND)
	return _write(out.data_array, t)


func _ready_command() -> PoolByteArray:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	out.put_u8(5)
	out.put_data(ascii("READY"))
	_put_property(out, "Socket-Type", ascii("DEALER"))
	_put_property(out, "Identity", PoolByteArray())
	return out.data_array


static func _put_property(out: StreamPeerBuffer, name: String, value: PoolByteArray) -> void:
	var key := ascii(name)
	out.put_u8(key.size())
	out.put_data(key)
	out.put_u32(value.size())
	out.put_data(value)


func _parse(t: float) -> void:
	while state == GREETING or state == HANDSHAKE or state == READY:
		var available := _rx.size() - _rx_pos
		if state == GREETING:
			if available >= 1 and _rx[_rx_pos] != 0xff:
				_drop("the console port does not speak ZeroMQ (ZMTP 3)", t)
				return
			if available < GREETING_BYTES:
				break
			if not _on_greeting(slice(_rx, _rx_pos, _rx_pos + GREETING_BYTES), t):
				return
			_rx_pos += GREETING_BYTES
			continue
		if available < 2:
			break
		var flags: int = _rx[_rx_pos]
		if (flags & 0xf8) != 0:
			_drop("invalid ZMTP frame flags 0x%02x" % flags, t)
			return
		var header := 2
		var size: int = _rx[_rx_pos + 1]
		if (flags & FLAG_LONG) != 0:
			header = 9
			if available < header:
				break
			size = 0
			for i in range(8):
				size = (size << 8) | int(_rx[_rx_pos + 1 + i])
		if size < 0 or size > max_message_bytes or _parts_bytes + size > max_message_bytes:
			_drop("a frame of %d bytes is over the limit of %d" % [size, max_message_bytes], t)
			return
		if available < header + size:
			break
		var body := slice(_rx, _rx_pos + header, _rx_pos + header + size)
		_rx_pos += header + size
		if (flags & FLAG_COMMAND) != 0:
			if not _on_command(body, t):
				return
		elif state != READY:
			_drop("a message arrived before the ZMTP handshake completed", t)
			return
		else:
			_parts.append(body)
			_parts_bytes += size
			if (flags & FLAG_MORE) == 0:
				_events.append({"kind": "message", "parts": _parts})
				_parts = []
				_parts_bytes = 0
	if state == DOWN:
		return
	if _rx_pos >= _rx.size():
		_rx = PoolByteArray()
		_rx_pos = 0
	elif _rx_pos > 65536:
		_rx = slice(_rx, _rx_pos, _rx.size())
		_rx_pos = 0


func _on_greeting(greeting: PoolByteArray, t: float) -> bool:
	if greeting[9] != 0x7f:
		_drop("the console port does not speak ZeroMQ (bad ZMTP signature)", t)
		return false
	var major: int = greeting[10]
	var minor: int = greeting[11]
	peer_version = "%d.%d" % [major, minor]
	if major < 3:
		_drop("the console speaks ZMTP %s; ZMTP 3 is needed" % peer_version, t)
		return false
	var mechanism := ""
	for i in range(12, 32):
		if greeting[i] == 0:
			break
		mechanism += char(greeting[i])
	if mechanism != "NULL":
		_drop("the console wants the %s security mechanism; this client speaks NULL only" % mechanism, t)
		return false
	state = HANDSHAKE
	return _send_command(_ready_command(), t)


func _on_command(body: PoolByteArray, t: float) -> bool:
	if body.size() < 1 or body.size() < 1 + int(body[0]):
		_drop("a malformed ZMTP command", t)
		return false
	var name_len: int = body[0]
	var name := slice(body, 1, 1 + name_len).get_string_from_ascii()
	var data := slice(body, 1 + name_len, body.size())
	if name == "READY":
		if state != HANDSHAKE:
			_drop("an unexpected ZMTP READY", t)
			return false
		var props = _parse_properties(data)
		if props == null:
			_drop("a malformed ZMTP READY", t)
			return false
		peer_socket_type = props.get("socket-type", "")
		if not (peer_socket_type in PEER_TYPES):
			_drop("the console's socket is a %s, not a ROUTER" % peer_socket_type, t)
			return false
		state = READY
		connections += 1
		_retry_ivl = RECONNECT_IVL_S
		_last_rx = t
		_next_ping = t + HEARTBEAT_IVL_S
		_events.append({"kind": "up"})
	elif name == "ERROR":
		var reason := ""
		if data.size() >= 1 and data.size() >= 1 + int(data[0]):
			reason = slice(data, 1, 1 + int(data[0])).get_string_from_ascii()
		_drop("the console refused the ZMTP connection: %s" % reason, t)
		return false
	elif name == "PING":
		# PONG echoes the PING's context (what follows the 2-byte TTL, at most 16 bytes).
		var context: PoolByteArray = slice(data, 2, min(data.size(), 18))
		var pong := StreamPeerBuffer.new()
		pong.big_endian = true
		pong.put_u8(4)
		pong.put_data(ascii("PONG"))
		pong.put_data(context)
		return _send_command(pong.data_array, t)
	# PONG and unknown commands: nothing to do (anything received keeps the link alive).
	return true


# READY metadata: name (1-byte length) and value (4-byte length) pairs; names lowercased.
func _parse_properties(data: PoolByteArray):
	var props := {}
	var i := 0
	var n := data.size()
	while i < n:
		var name_len: int = data[i]
		if i + 1 + name_len + 4 > n:
			return null
		var name := slice(data, i + 1, i + 1 + name_len).get_string_from_ascii().to_lower()
		i += 1 + name_len
		var value_len := 0
		for k in range(4):
			value_len = (value_len << 8) | int(data[i + k])
		i += 4
		if i + value_len > n:
			return null
		props[name] = slice(data, i, i + value_len).get_string_from_ascii()
		i += value_len
	return props
