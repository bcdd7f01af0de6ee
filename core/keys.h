#pragma once

// CurveZMQ keys (docs/security.md): a key pair made by libzmq (libsodium), its files, and the
// authorized-keys file that says what each key may do.
//
// Key files hold one key as 40 Z85 characters and a newline: NAME.pub the public key, NAME.secret
// the secret one (mode 0600; a secret key file that others can read is refused).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

namespace zinc {

// Z85 keys, 40 characters each.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

// A fresh key pair. kUnsupported if libzmq was built without CURVE.
Result<CurveKeyPair> GenerateCurveKeyPair();
// The public key of a secret one. kInvalidArgument if secret_key is not a Z85 key.
Result<std::string> CurvePublicKey(std::string_view secret_key);
// Whether key is 40 characters of the Z85 alphabet (32 bytes).
bool IsZ85Key(std::string_view key);

// Writes NAME.pub (0644) and NAME.secret (0600), refusing to replace either (kInvalidArgument,
// naming the file).
Status WriteKeyFiles(const std::string& name, const CurveKeyPair& pair);
// Reads a key file: 40 Z85 characters, a newline optional. A secret key file (.secret) that its
// group or others may read is refused (kInvalidArgument), as ssh refuses one.
Result<std::string> ReadKeyFile(const std::string& path);
// A --server-key value: a Z85 key as it is, or the path of a key file.
Result<std::string> KeyFromArgument(const std::string& value);

// The 32 bytes of a Z85 key ("" if it is not one), and back ("" unless 32 bytes).
std::string KeyBytes(std::string_view z85);
std::string KeyText(std::string_view bytes);

// Endpoint ids and keys (docs/security.md): with keys, an endpoint's 16-byte id begins with the
// first 8 bytes of the SHA-256 of its public key (the rest random), so that anyone can check
// which key owns an origin without asking: a peer whose connection's key does not own an
// envelope's origin is not who it says.
std::string IdPrefixForKey(std::string_view z85);
bool OriginOwnedBy(std::string_view origin, std::string_view z85);
// The same with the key's IdPrefixForKey already computed (KeyRights::id_prefix): no hashing.
bool OriginHasPrefix(std::string_view origin, std::string_view id_prefix);
// A fresh id owned by key z85 (random when z85 is empty).
EndpointId NewIdForKey(std::string_view z85);

// What a process needs to talk to a member that has keys: its own key pair and the member's
// public key (Z85). No secret key: plain.
struct ClientKeys {
  std::string public_key;
  std::string secret_key;
  std::string server_key;
  bool empty() const { return secret_key.empty(); }
};

// Whether name matches glob: '*' any run of characters (slashes too), '?' any one character,
// '[...]' a class, '\' escapes (fnmatch(3) without flags).
bool GlobMatch(std::string_view glob, std::string_view name);

// What one key may do.
struct KeyRights {
  std::string name;
  std::vector<std::string> read;   // globs of documents it may read
  std::vector<std::string> write;  // globs of documents it may write (writing implies reading)
  // May host children, carry their traffic, take part in failover; reads every document (a
  // relay replicates what its children open, a standby everything), writes only by write:GLOB.
  bool member = false;
  // IdPrefixForKey of the key (authorized keys only): the origins it owns begin with it.
  std::string id_prefix;

  bool CanRead(std::string_view doc) const;
  bool CanWrite(std::string_view doc) const;
};

// The grammar the authorized-keys file and zinc-canvas's tokens file share: one line per
// credential, `CREDENTIAL NAME RIGHT...` (blank lines and `#` comments allowed), a right being
// `read:GLOB`, `write:GLOB` or (where allowed) `member`. Returns the rights by credential, or
// kInvalidArgument naming "where:LINE" for the first bad line.
struct RightsFileFormat {
  bool (*valid)(std::string_view credential) = nullptr;
  std::string credential;  // what a credential is, for errors: "a public key (...)"
  std::string what;        // "key", "token"
  bool allow_member = false;
};
Result<std::unordered_map<std::string, KeyRights>> ParseRightsFile(std::string_view text,
                                                                   const std::string& where,
                                                                   const RightsFileFormat& format);
// The contents of a small text file; kNotFound naming what and path if it cannot be read.
Result<std::string> ReadSmallFile(const std::string& path, const std::string& what);

// The authorized-keys file: one line per key, `Z85PUBLICKEY NAME RIGHT...`, a right being
// `read:GLOB`, `write:GLOB` or `member`; blank lines and `#` comments allowed. Value type;
// thread-compatible.
class AuthorizedKeys {
 public:
  // Parses text; where names the source in errors ("FILE:LINE: ..."). kInvalidArgument for the
  // first bad line: a key that is not Z85, a missing name, no right, an unknown right, an empty
  // glob, or a key listed twice.
  static Result<AuthorizedKeys> Parse(std::string_view text, const std::string& where);
  // Reads and parses the file at path.
  static Result<AuthorizedKeys> Load(const std::string& path);

  // The rights of key (Z85), or nullptr if it is not authorized.
  const KeyRights* Find(std::string_view key) const;
  size_t size() const { return keys_.size(); }
  // Whether other holds the same keys with the same names and rights.
  bool SameAs(const AuthorizedKeys& other) const;

 private:
  std::unordered_map<std::string, KeyRights> keys_;
};

}  // namespace zinc
