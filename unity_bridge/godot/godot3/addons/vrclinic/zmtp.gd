# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 3 variant of unity_bridge/godot/templates/zmtp.gd.in: edit that, then regenerate.
# A ZeroMQ DEALER socket in GDScript: ZMTP 3.1 (RFC 37, which 3.0 peers of RFC 23 also
# understand) over StreamPeerTCP, with the CURVE security mechanism (RFC 26, the console's
# main port) or NULL (its pairing port). Enough for an engine talking to the console's ROUTER:
#
# - greeting: signature, version 3.1, mechanism CURVE or NULL, as-server 0. The peer must
#   offer the same mechanism (a CURVE client never falls back to NULL);
# - NULL: a READY command with Socket-Type DEALER and an empty Identity; the peer's READY
#   must name a socket type a DEALER may talk to (ROUTER, DEALER or REP);
# - CURVE, as libzmq's client does it: HELLO (a fresh short-term key C', the box of 64 zero
#   bytes to the console's long-term key S), WELCOME (opened with the pinned S: only the
#   paired console can write it; it carries the server's short-term key S' and a cookie),
#   INITIATE (the cookie, our long-term key C and the vouch Box[C' + S](C -> S'), and
#   READY's metadata), READY (the server's metadata, boxed). Then every frame and every
#   command (PING/PONG) travels as a MESSAGE: Box[flags + body](C' -> S') with the nonce
#   "CurveZMQMESSAGEC" + an 8-byte counter (the console answers with "CurveZMQMESSAGES");
#   a message that does not open, or whose counter is not above the last one, drops the
#   connection. An ERROR during the handshake (the console's ZAP handler refused our key)
#   is reported with refused = true and retried only every REFUSED_RETRY_S;
# - the X25519 work (four scalar multiplications per connection, ~30 ms each in Godot 3)
#   runs in slices of crypto_budget_usec per poll(), so that connecting never stalls a
#   frame for longer than that: the short-term key and its box key for HELLO are made
#   before the TCP connection is opened (and again in the background once connected, for
#   the next connection), the two that need the server's short-term key after WELCOME;
# - big frames (mirror frames) can be sent with send_later(): sealed in slices over the
#   next polls (about 1 microsecond a byte in Godot 3), with a message nonce reserved
#   LATER_NONCE_GAP ahead, so that heartbeats sent meanwhile go out first with smaller
#   nonces and the big one still arrives with a larger one (libzmq only wants them to grow);
# - frames: short (1-byte size) and long (8-byte size), the MORE flag (parts of one
#   message are collected; the protocol sends single-part messages), command frames;
# - PING/PONG (ZMTP heartbeats, as libzmq's ZMQ_HEARTBEAT_IVL 1000 / TIMEOUT 3000): the
#   connection is dropped when nothing at all arrives for 3 s;
# - reconnection after 100 ms, backing off to 1 s (RECONNECT_IVL / _MAX);
# - nothing is queued while the connection is down (IMMEDIATE): send() returns false;
# - a frame longer than the protocol allows drops the connection unread (MAXMSGSIZE).
#
# Not a general ZeroMQ: no PLAIN, no CURVE server, no other socket types, one peer.
#
# Drive it from one thread: set the CURVE keys (or leave them empty for NULL), open(), then
# poll(now) every frame; poll returns events {"kind": "up"}, {"kind": "down", "why": text,
# "was_ready": bool, "refused": bool} and {"kind": "message", "parts": [bytes, ...]}.
extends Reference

const Messages = preload("messages.gd")
const Nacl = preload("nacl.gd")

const RECONNECT_IVL_S = 0.1
const RECONNECT_IVL_MAX_S = 1.0
const HEARTBEAT_IVL_S = 1.0
const HEARTBEAT_TIMEOUT_S = 3.0
const HANDSHAKE_TIMEOUT_S = 3.0
const CURVE_HANDSHAKE_TIMEOUT_S = 10.0  # the key work is spread over frames
const REFUSED_RETRY_S = 5.0  # after the console refused our key: it stays refused until a technician acts
const SLICE_ABOVE_BYTES = 8192  # send_later() seals frames bigger than this in slices
const CURVE_MESSAGE_OVERHEAD = 33  # "\x07MESSAGE", the short nonce, the tag, the flags byte
const LATER_NONCE_GAP = 65536  # nonces left for the messages sent while a big one is sealed
const GREETING_BYTES = 64
const FLAG_MORE = 0x01
const FLAG_LONG = 0x02
const FLAG_COMMAND = 0x04
const PEER_TYPES = ["ROUTER", "DEALER", "REP"]  # what a DEALER may be connected to

enum { DOWN, CONNECTING, GREETING, HANDSHAKE, READY, CLOSED }

# CURVE: all three 32-byte keys set before open() -> CURVE; all empty -> NULL.
var curve_server_key := PoolByteArray()  # S: the console's long-term public key, pinned
var curve_public_key := PoolByteArray()  # C: ours
var curve_secret_key := PoolByteArray()  # c
var crypto_budget_usec := 4000  # X25519 work per poll(), in microseconds
# With CURVE: a frame holding more than this is not decrypted but reported as
# {"kind": "oversize", "bytes": n} (-1: no limit). Decrypting costs ~1 microsecond a byte.
var max_open_bytes := -1
# Timings of the last CURVE handshake (microseconds of X25519 work, and wall time from
# the TCP connection to READY), for the app's diagnostics and the tests.
var last_key_work_usec := 0
var last_key_polls := 0  # how many poll() calls that work was spread over
var last_handshake_s := 0.0

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
var _refused := false  # the peer sent ERROR during the handshake
var _started_at := 0.0
# CURVE state: the prepared short-term key (made before connecting), the handshake's
# jobs and keys, and the message nonces.
var _prepared = null  # {"secret", "public", "hello_key"} for the next connection, or null
var _prepare_jobs := []  # [secret, public job, C'-S job] while preparing
var _eph = null  # this connection's short-term key material
var _curve_phase := ""  # "welcome", "keys", "ready" during the handshake
var _keys_jobs := []  # [C'-S' job, C-S' job] after WELCOME
var _server_eph := PoolByteArray()  # S'
var _cookie := PoolByteArray()
var _session_key := PoolByteArray()  # crypto_box_beforenm(S', c')
var _sub_out := []  # HSalsa20 subkeys of "CurveZMQMESSAGEC" / "...S" under the session key
var _sub_in := []
var _nonce := 1  # our short nonce: HELLO 1, INITIATE 2, then one per MESSAGE
var _peer_nonce := 0
var _later = null  # a big frame being sealed: {"nonce", "short", "job", "queued_at"}
var last_later_seal_s := 0.0  # how long the last send_later() frame took to go out


static func slice(data: PoolByteArray, from: int, to: int) -> PoolByteArray:
	if to <= from:
		return PoolByteArray()
	return data.subarray(from, to - 1)


static func ascii(text: String) -> PoolByteArray:
	return text.to_ascii()


func uses_curve() -> bool:
	return curve_server_key.size() == 32


# Connect to host:port (at once on the next poll, after the short-term key is made) and
# keep reconnecting until close(). Returns false (and says why in last_error) when the
# CURVE keys are set but not 32 bytes each.
func open(p_host: String, p_port: int, t: float) -> bool:
	host = p_host
	port = p_port
	state = DOWN
	_retry_at = t
	_retry_ivl = RECONNECT_IVL_S
	var sizes := [curve_server_key.size(), curve_public_key.size(), curve_secret_key.size()]
	if sizes != [0, 0, 0] and sizes != [32, 32, 32]:
		last_error = "the CURVE keys must be 32 bytes each (server key, public key, secret key)"
		state = CLOSED
		return false
	return true


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
	_before_nonces(parts.size(), t)
	if state != READY:
		return false
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	for i in range(parts.size()):
		var more := i < parts.size() - 1
		if uses_curve():
			_put_frame(out, _message_box(parts[i], 0x01 if more else 0), 0)
		else:
			_put_frame(out, parts[i], FLAG_MORE if more else 0)
	return _write(out.data_array, t)


# Send one big frame without stalling the frame: with CURVE, sealed a slice per poll()
# and sent when done (messages sent meanwhile go first); small frames and NULL at once.
# False when not connected or another frame is still being sealed (try again later).
func send_later(frame: PoolByteArray, t: float) -> bool:
	if state != READY or _later != null:
		return false
	if not uses_curve() or frame.size() <= SLICE_ABOVE_BYTES:
		return send([frame], t)
	var plain := PoolByteArray()
	plain.append(0)
	plain.append_array(frame)
	var nonce := _nonce + LATER_NONCE_GAP
	var short_nonce := Nacl.u64_be(nonce)
	_later = {"nonce": nonce, "short": short_nonce, "job": Nacl.seal_job(plain, _sub_out, short_nonce), "queued_at": t}
	return true


func is_sending_later() -> bool:
	return _later != null


# Forget the frame being sealed (e.g. the console turned the mirror off).
func cancel_later() -> void:
	_later = null


func poll(t: float) -> Array:
	if state == CLOSED:
		return []
	if _later != null and state == READY:
		if Nacl.seal_run(_later["job"], crypto_budget_usec):
			_send_later_now(t)
	elif uses_curve() and _prepared == null and (state == DOWN or state == READY):
		_prepare_step()  # the next connection's short-term key, in slices
	if state == DOWN:
		if t >= _retry_at and (_prepared != null or not uses_curve()):
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
		_deadline = t + (CURVE_HANDSHAKE_TIMEOUT_S if uses_curve() else HANDSHAKE_TIMEOUT_S)
		if not _write(_greeting(), t):
			return _take_events()
	if status != StreamPeerTCP.STATUS_CONNECTED:
		if state == GREETING and uses_curve():
			# libzmq hangs up after its signature when the mechanisms differ.
			_drop("the console at %s:%d hung up at the greeting, before any encryption: it does not speak CURVE (a console older than protocol 1.1, or another program on that port); this headset will not talk to it unencrypted" % [host, port], t)
		elif state == HANDSHAKE and _curve_phase == "welcome":
			# libzmq closes without a word when HELLO's box does not open with its key.
			_drop("the console at %s:%d closed the connection at the first step of the encrypted handshake: it does not hold the console key this headset has pinned (another console at this address, or its key changed); pair the headset again" % [host, port], t)
		else:
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
	if state == HANDSHAKE and _curve_phase == "keys":
		_keys_step(t)
	if state == GREETING or state == HANDSHAKE:
		if t > _deadline:
			var limit := CURVE_HANDSHAKE_TIMEOUT_S if uses_curve() else HANDSHAKE_TIMEOUT_S
			_drop("ZMTP handshake not completed within %d s" % int(limit), t)
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
	_started_at = t
	_deadline = t + (CURVE_HANDSHAKE_TIMEOUT_S if uses_curve() else HANDSHAKE_TIMEOUT_S)
	_refused = false
	_curve_phase = ""
	_keys_jobs = []


func _drop(why: String, t: float) -> void:
	var was_ready := state == READY
	var refused := _refused
	_later = null  # a big frame not sent yet goes with the connection (mirror frames are best effort)
	_refused = false
	_curve_phase = ""
	_keys_jobs = []
	_eph = null
	_session_key = PoolByteArray()
	_sub_out = []
	_sub_in = []
	if _tcp != null:
		_tcp.disconnect_from_host()
	_tcp = null
	state = DOWN
	last_error = why
	_rx = PoolByteArray()
	_rx_pos = 0
	_parts = []
	_parts_bytes = 0
	_retry_at = t + (max(_retry_ivl, REFUSED_RETRY_S) if refused else _retry_ivl)
	_retry_ivl = min(_retry_ivl * 2.0, RECONNECT_IVL_MAX_S)
	_events.append({"kind": "down", "why": why, "was_ready": was_ready, "refused": refused})


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
	var mechanism := ascii("CURVE" if uses_curve() else "NULL")
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
	if state == READY:
		_before_nonces(1, t)
		if state != READY:
			return false
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	if state == READY and uses_curve():
		_put_frame(out, _message_box(body, 0x02), 0)  # after the handshake, commands are boxed too
	else:
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
		if state == READY and uses_curve():
			# Every frame is a MESSAGE box; what it holds says whether it is a command.
			if max_open_bytes >= 0 and size - CURVE_MESSAGE_OVERHEAD > max_open_bytes:
				_events.append({"kind": "oversize", "bytes": size - CURVE_MESSAGE_OVERHEAD})
				continue
			var opened = _open_message(body, t)
			if opened == null:
				return
			flags = FLAG_COMMAND if (opened[0] & 0x02) != 0 else (FLAG_MORE if (opened[0] & 0x01) != 0 else 0)
			body = opened[1]
			size = body.size()
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
	var ours := "CURVE" if uses_curve() else "NULL"
	if mechanism != ours:
		if ours == "CURVE":
			_drop("the console at %s:%d offers %s, not CURVE: it is a console older than protocol 1.1, or another program; this headset will not talk to it unencrypted" % [host, port, mechanism], t)
		elif mechanism == "CURVE":
			_drop("the console at %s:%d is encrypted (CURVE) and this headset has no console key: pair it with the console first" % [host, port], t)
		else:
			_drop("the console wants the %s security mechanism; this client speaks %s" % [mechanism, ours], t)
		return false
	state = HANDSHAKE
	if ours == "CURVE":
		# (Not checked: the as-server flag. libzmq 4.3's CURVE server sends 0 there too; only
		# the holder of the pinned key's secret can answer HELLO, which is what counts.)
		return _send_hello(t)
	return _send_command(_ready_command(), t)


func _on_command(body: PoolByteArray, t: float) -> bool:
	if body.size() < 1 or body.size() < 1 + int(body[0]):
		_drop("a malformed ZMTP command", t)
		return false
	var name_len: int = body[0]
	var name := slice(body, 1, 1 + name_len).get_string_from_ascii()
	var data := slice(body, 1 + name_len, body.size())
	if uses_curve() and state == HANDSHAKE and name != "ERROR":
		return _on_curve_command(name, data, t)
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
		if uses_curve() and state == HANDSHAKE:
			# libzmq sends ERROR when its ZAP handler refused our key (status 400 as reason).
			_refused = true
			_drop("the console refused this headset's key (%s): it is not paired with this console, or was removed" % reason, t)
		else:
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


# -- CURVE (RFC 26) -----------------------------------------------------------------------


# The next connection's short-term key pair and HELLO's box key, a slice per call.
func _prepare_step() -> void:
	var t0: int = OS.get_ticks_usec()
	if _prepare_jobs.size() == 0:
		var secret := Nacl.random_bytes(32)
		_prepare_jobs = [secret, Nacl.scalarmult_job(secret, Nacl.base_point()), Nacl.scalarmult_job(secret, curve_server_key), 0, 0]
	for i in [1, 2]:
		var left: int = crypto_budget_usec - (OS.get_ticks_usec() - t0)
		if left <= 0:
			break
		Nacl.job_run(_prepare_jobs[i], left)
	_prepare_jobs[3] += OS.get_ticks_usec() - t0
	_prepare_jobs[4] += 1
	if Nacl.job_done(_prepare_jobs[1]) and Nacl.job_done(_prepare_jobs[2]):
		_prepared = {
			"secret": _prepare_jobs[0],
			"public": _prepare_jobs[1]["result"],
			"hello_key": Nacl.shared_key(_prepare_jobs[2]["result"]),
			"work_usec": _prepare_jobs[3],
			"polls": _prepare_jobs[4],
		}
		_prepare_jobs = []


func _send_hello(t: float) -> bool:
	_eph = _prepared
	_prepared = null  # a short-term key goes on the wire once: the next connection gets a new one
	last_key_work_usec = _eph["work_usec"]
	last_key_polls = _eph["polls"]
	_nonce = 1
	_peer_nonce = 0
	var out := StreamPeerBuffer.new()
	out.put_u8(5)
	out.put_data(ascii("HELLO"))
	out.put_u8(1)  # CurveZMQ version 1.0
	out.put_u8(0)
	for i in range(72):  # anti-amplification padding: HELLO is as long as WELCOME
		out.put_u8(0)
	out.put_data(_eph["public"])
	var short_nonce := Nacl.u64_be(_nonce)
	out.put_data(short_nonce)
	var nonce := ascii("CurveZMQHELLO---")
	nonce.append_array(short_nonce)
	out.put_data(Nacl.secretbox(Nacl.zeros(64), nonce, _eph["hello_key"]))
	_nonce += 1
	_curve_phase = "welcome"
	return _send_command(out.data_array, t)


func _on_curve_command(name: String, data: PoolByteArray, t: float) -> bool:
	if name == "WELCOME" and _curve_phase == "welcome":
		# 16-byte nonce, then Box[S' + cookie](S -> C'): only the holder of S's secret writes it.
		if data.size() != 160:
			_drop("a malformed CURVE WELCOME (%d bytes)" % data.size(), t)
			return false
		var nonce := ascii("WELCOME-")
		nonce.append_array(slice(data, 0, 16))
		var opened = Nacl.secretbox_open(slice(data, 16, 160), nonce, _eph["hello_key"])
		if opened == null:
			_drop("the console's WELCOME does not open with the pinned console key: this is not the console this headset was paired with (or its key changed); pair again", t)
			return false
		_server_eph = slice(opened, 0, 32)
		_cookie = slice(opened, 32, 128)
		_keys_jobs = [Nacl.scalarmult_job(_eph["secret"], _server_eph), Nacl.scalarmult_job(curve_secret_key, _server_eph)]
		_curve_phase = "keys"
		return true
	if name == "READY" and _curve_phase == "ready":
		# 8-byte short nonce, then Box[metadata](S' -> C').
		if data.size() < 8 + Nacl.TAG_BYTES:
			_drop("a malformed CURVE READY", t)
			return false
		var short_nonce := slice(data, 0, 8)
		var nonce := ascii("CurveZMQREADY---")
		nonce.append_array(short_nonce)
		var opened = Nacl.secretbox_open(slice(data, 8, data.size()), nonce, _session_key)
		if opened == null:
			_drop("the console's CURVE READY does not open: dropped the connection", t)
			return false
		var props = _parse_properties(opened)
		if props == null:
			_drop("a malformed CURVE READY", t)
			return false
		peer_socket_type = props.get("socket-type", "")
		if not (peer_socket_type in PEER_TYPES):
			_drop("the console's socket is a %s, not a ROUTER" % peer_socket_type, t)
			return false
		_peer_nonce = Nacl.read_u64_be(short_nonce, 0)
		_sub_out = Nacl.subkey(_session_key, ascii("CurveZMQMESSAGEC"))
		_sub_in = Nacl.subkey(_session_key, ascii("CurveZMQMESSAGES"))
		_curve_phase = ""
		state = READY
		connections += 1
		_retry_ivl = RECONNECT_IVL_S
		_last_rx = t
		_next_ping = t + HEARTBEAT_IVL_S
		last_handshake_s = t - _started_at
		_events.append({"kind": "up"})
		return true
	_drop("an unexpected CURVE command %s during the handshake" % name, t)
	return false


# After WELCOME: the two box keys that need S', a slice per poll; then INITIATE.
func _keys_step(t: float) -> void:
	var t0: int = OS.get_ticks_usec()
	for job in _keys_jobs:
		var left: int = crypto_budget_usec - (OS.get_ticks_usec() - t0)
		if left <= 0:
			break
		Nacl.job_run(job, left)
	last_key_work_usec += OS.get_ticks_usec() - t0
	last_key_polls += 1
	if not (Nacl.job_done(_keys_jobs[0]) and Nacl.job_done(_keys_jobs[1])):
		return
	_session_key = Nacl.shared_key(_keys_jobs[0]["result"])
	var vouch_key := Nacl.shared_key(_keys_jobs[1]["result"])
	_keys_jobs = []
	# The vouch: Box[C' + S](C -> S'), proving that the holder of C made C'.
	var vouch_nonce := Nacl.random_bytes(16)
	var nonce := ascii("VOUCH---")
	nonce.append_array(vouch_nonce)
	var vouched := PoolByteArray()
	vouched.append_array(_eph["public"])
	vouched.append_array(curve_server_key)
	var plain := PoolByteArray()
	plain.append_array(curve_public_key)
	plain.append_array(vouch_nonce)
	plain.append_array(Nacl.secretbox(vouched, nonce, vouch_key))
	plain.append_array(_metadata())
	var short_nonce := Nacl.u64_be(_nonce)
	_nonce += 1
	nonce = ascii("CurveZMQINITIATE")
	nonce.append_array(short_nonce)
	var out := StreamPeerBuffer.new()
	out.put_u8(8)
	out.put_data(ascii("INITIATE"))
	out.put_data(_cookie)
	out.put_data(short_nonce)
	out.put_data(Nacl.secretbox(plain, nonce, _session_key))
	_curve_phase = "ready"
	_send_command(out.data_array, t)


# The frame being sealed goes out before our nonces could reach its reserved one (which
# would make the console refuse it as a replay); with LATER_NONCE_GAP this never waits
# in practice, but it keeps the order right whatever the engine sends.
func _before_nonces(count: int, t: float) -> void:
	if _later != null and _nonce + count >= _later["nonce"]:
		Nacl.seal_run(_later["job"], -1)
		_send_later_now(t)


func _send_later_now(t: float) -> void:
	var later: Dictionary = _later
	_later = null
	var body := PoolByteArray()
	body.append(7)
	body.append_array(ascii("MESSAGE"))
	body.append_array(later["short"])
	body.append_array(later["job"]["result"])
	_nonce = int(max(_nonce, later["nonce"] + 1))
	last_later_seal_s = t - later["queued_at"]
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	_put_frame(out, body, 0)
	_write(out.data_array, t)


# READY's metadata (Socket-Type DEALER, empty Identity), which CURVE sends inside INITIATE.
func _metadata() -> PoolByteArray:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	_put_property(out, "Socket-Type", ascii("DEALER"))
	_put_property(out, "Identity", PoolByteArray())
	return out.data_array


# One frame's MESSAGE command: flags (0x01 more, 0x02 command) and body, boxed.
func _message_box(body: PoolByteArray, flags: int) -> PoolByteArray:
	var plain := PoolByteArray()
	plain.append(flags)
	plain.append_array(body)
	var short_nonce := Nacl.u64_be(_nonce)
	_nonce += 1
	var out := PoolByteArray()
	out.append(7)
	out.append_array(ascii("MESSAGE"))
	out.append_array(short_nonce)
	out.append_array(Nacl.secretbox_sub(plain, _sub_out, short_nonce))
	return out


# [flags, body] of a MESSAGE from the console, or null (and the connection dropped) when
# it is not one, replays an old nonce or does not open.
func _open_message(frame: PoolByteArray, t: float):
	if frame.size() < 16 + Nacl.TAG_BYTES + 1 or frame[0] != 7 or slice(frame, 1, 8).get_string_from_ascii() != "MESSAGE":
		_drop("the console sent something other than an encrypted MESSAGE", t)
		return null
	var short_nonce := slice(frame, 8, 16)
	var counter := Nacl.read_u64_be(short_nonce, 0)
	# The counter must grow (a replayed or reordered message is refused, as libzmq does);
	# read as signed, a counter past 2^63 is negative and refused too.
	if counter <= _peer_nonce:
		_drop("the console's message counter went backwards (a replayed message?): dropped the connection", t)
		return null
	var opened = Nacl.secretbox_open_sub(slice(frame, 16, frame.size()), _sub_in, short_nonce)
	if opened == null or opened.size() < 1:
		_drop("a message from the console did not decrypt (damaged or forged): dropped the connection", t)
		return null
	_peer_nonce = counter
	return [opened[0], slice(opened, 1, opened.size())]

