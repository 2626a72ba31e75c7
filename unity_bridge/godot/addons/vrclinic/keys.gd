# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 4 variant of unity_bridge/godot/templates/keys.gd.in: edit that, then regenerate.
# This headset's CURVE keys and the console key it has pinned, kept in the keys file that
# every vrclinic SDK uses (protocol/security.py): JSON
#   {"public": Z85, "secret": Z85, "console_public": Z85}
# with console_public absent until the headset is paired. The file holds a secret key:
# on Linux and macOS it is written readable by its owner only (chmod 600, as the console's
# tools write it) and refused when others can read it; on Android, user:// is the app's
# private storage.
#
# keys.load_or_create(path): the keys in the file, or a new key pair written there when
# there is no file yet; then check `problem` (empty when all is well, else what is wrong,
# in words).
extends RefCounted

const Nacl = preload("nacl.gd")

const PAIRING_SALT = "vrclinic pairing v1"  # protocol/security.py's PAIRING_SALT

var path := ""
var public_key := PackedByteArray()  # 32 bytes
var secret_key := PackedByteArray()
var console_key := PackedByteArray()  # empty until paired
var problem := ""
var created := false  # a new key pair was made (there was no file)


func load_or_create(p_path: String) -> void:
	path = p_path
	problem = ""
	if not _exists(p_path):
		secret_key = Nacl.random_bytes(32)
		public_key = Nacl.public_key(secret_key)
		created = true
		save()
		return
	var mode := _permissions(p_path)
	if mode == UNKNOWN_PERMISSIONS:  # fail closed: a file we cannot check may be anyone's
		problem = "cannot check who may read the keys file %s (it holds a secret key); check that it exists and run  chmod 600  on it" % ProjectSettings.globalize_path(p_path)
		return
	if mode >= 0 and (mode & 0x3f) != 0:  # any bit of group or others (0o077)
		var where := ProjectSettings.globalize_path(p_path)
		problem = "the keys file %s can be read by other users of this computer; it holds a secret key: run  chmod 600 %s  and try again" % [where, where]
		return
	var text = _read_text(p_path)
	if text == null:
		problem = "cannot read the keys file %s" % p_path
		return
	_parse(text)


# What the file says, checked as protocol/security.py's read_keys_file checks it.
func _parse(text: String) -> void:
	var data = JSON.parse_string(text)
	if typeof(data) != TYPE_DICTIONARY:
		problem = "the keys file %s is not a JSON object with public, secret and console_public" % path
		return
	var secret = Nacl.key_from_z85(str(data.get("secret", "")))
	if secret == null:
		problem = "the keys file %s: its secret key is not 40 characters of Z85" % path
		return
	secret_key = secret
	public_key = Nacl.public_key(secret_key)
	if data.has("public") and str(data["public"]) != Nacl.z85_encode(public_key):
		problem = "the keys file %s: its public key does not belong to its secret key" % path
		return
	if data.has("console_public") and data["console_public"] != null:
		var console = Nacl.key_from_z85(str(data["console_public"]))
		if console == null:
			problem = "the keys file %s: its console_public is not 40 characters of Z85" % path
			return
		console_key = console


func is_paired() -> bool:
	return console_key.size() == 32


func public_z85() -> String:
	return Nacl.z85_encode(public_key)


func console_z85() -> String:
	return Nacl.z85_encode(console_key) if is_paired() else ""


# Pin the console's key (from the pairing port) and write it to the file.
func pin_console(console_public: PackedByteArray) -> bool:
	console_key = console_public
	return save()


# Forget the pinned console key (to pair with another console, or after the codes differed).
func forget_console() -> bool:
	console_key = PackedByteArray()
	return save()


# The six digits both sides show while pairing, e.g. "042 917" (protocol/security.py's
# pairing_code): SHA-256 of the salt and both raw public keys, console's first.
static func pairing_code(console_public: PackedByteArray, engine_public: PackedByteArray) -> String:
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	hashing.update(PAIRING_SALT.to_utf8_buffer())
	hashing.update(console_public)
	hashing.update(engine_public)
	var digest: PackedByteArray = hashing.finish()
	var number: int = ((int(digest[0]) << 24) | (int(digest[1]) << 16) | (int(digest[2]) << 8) | int(digest[3])) % 1000000
	return "%03d %03d" % [number / 1000, number % 1000]


func to_json_text() -> String:
	var data := {"public": public_z85(), "secret": Nacl.z85_encode(secret_key)}
	if is_paired():
		data["console_public"] = console_z85()
	return JSON.stringify(data, "  ") + "\n"


# Write the file: a private temporary file first, then renamed over the old one, so that
# the secret is never in a file others can read and a crash leaves the old file whole.
# False (and `problem` says why) when it cannot be written.
func save() -> bool:
	var tmp := path + ".tmp"
	if not _write_text(tmp, ""):
		problem = "cannot write the keys file %s (is its folder there and writable?)" % tmp
		return false
	if not _make_private(tmp):
		problem = "cannot make %s readable by its owner only; the secret key was not written" % tmp
		return false
	if not _write_text(tmp, to_json_text()):
		problem = "cannot write the keys file %s" % tmp
		return false
	# Renamed by absolute path: user:// means nothing to a rename outside the project.
	var err := DirAccess.rename_absolute(ProjectSettings.globalize_path(tmp), ProjectSettings.globalize_path(path))
	if err != OK:
		problem = "cannot replace the keys file %s (error %d)" % [path, err]
		return false
	return true


static func _exists(p_path: String) -> bool:
	return FileAccess.file_exists(p_path)


static func _read_text(p_path: String):
	var file := FileAccess.open(p_path, FileAccess.READ)
	if file == null:
		return null
	return file.get_as_text()


static func _write_text(p_path: String, text: String) -> bool:
	var file := FileAccess.open(p_path, FileAccess.WRITE)
	if file == null:
		return false
	file.store_string(text)
	file.close()
	return true


const POSIX_DESKTOPS = ["X11", "Server", "OSX", "macOS", "Linux", "FreeBSD", "NetBSD", "OpenBSD", "BSD", "LinuxBSD"]


const UNKNOWN_PERMISSIONS = -2


# The file's permission bits where the file system has them (Linux, macOS, BSD desktops),
# UNKNOWN_PERMISSIONS if they cannot be read there, else -1 (Android's private storage,
# Windows: nothing to check here).
static func _permissions(p_path: String) -> int:
	if not (OS.get_name() in POSIX_DESKTOPS):
		return -1
	return FileAccess.get_unix_permissions(ProjectSettings.globalize_path(p_path))


static func _octal(text: String) -> int:
	var value := 0
	for i in range(text.length()):
		var digit := text.ord_at(i) - 48
		if digit < 0 or digit > 7:
			return -1
		value = value * 8 + digit
	return value


# Owner-only permissions where the file system has them (Linux, macOS, BSD desktops);
# elsewhere (Android's private storage, Windows) there is nothing to do here.
static func _make_private(p_path: String) -> bool:
	if not (OS.get_name() in POSIX_DESKTOPS):
		return true
	var flags := FileAccess.UNIX_READ_OWNER | FileAccess.UNIX_WRITE_OWNER
	return FileAccess.set_unix_permissions(ProjectSettings.globalize_path(p_path), flags) == OK


