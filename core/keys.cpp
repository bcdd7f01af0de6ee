#include "core/keys.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <zmq.h>

#include "core/sha256.h"

namespace zinc {

namespace {

constexpr size_t kZ85KeyChars = 40;

bool IsZ85Char(char c) {
  static constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  return kAlphabet.find(c) != std::string_view::npos;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Writes text to a new file path with mode; refuses an existing one.
Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "cannot create " + path + ": " + std::strerror(errno) +
                      (errno == EEXIST ? " (keys are never replaced; remove it first)" : ""));
  }
  const ssize_t n = write(fd, text.data(), text.size());
  const bool ok = n == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) return Status(StatusCode::kIoError, "cannot write " + path);
  return Status::Ok();
}

}  // namespace

bool IsZ85Key(std::string_view key) {
  if (key.size() != kZ85KeyChars) return false;
  for (char c : key) {
    if (!IsZ85Char(c)) return false;
  }
  // Every 5 characters decode to 4 bytes below 2^32.
  uint8_t bytes[32];
  return zmq_z85_decode(bytes, std::string(key).c_str()) != nullptr;
}

std::string KeyBytes(std::string_view z85) {
  if (z85.size() != kZ85KeyChars) return "";
  uint8_t bytes[32];
  if (!zmq_z85_decode(bytes, std::string(z85).c_str())) return "";
  return std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes));
}

std::string KeyText(std::string_view bytes) {
  if (bytes.size() != 32) return "";
  char text[41];
  if (!zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) {
    return "";
  }
  return std::string(text, kZ85KeyChars);
}

std::string IdPrefixForKey(std::string_view z85) {
  const std::string bytes = KeyBytes(z85);
  if (bytes.empty()) return "";
  Sha256 h;
  h.Update(bytes);
  const std::array<uint8_t, 32> digest = h.Finish();
  return std::string(reinterpret_cast<const char*>(digest.data()), 8);
}

bool OriginHasPrefix(std::string_view origin, std::string_view id_prefix) {
  return origin.size() == 16 && id_prefix.size() == 8 && origin.substr(0, 8) == id_prefix;
}

bool OriginOwnedBy(std::string_view origin, std::string_view z85) {
  return OriginHasPrefix(origin, IdPrefixForKey(z85));
}

EndpointId NewIdForKey(std::string_view z85) {
  EndpointId id = EndpointId::Random();
  const std::string prefix = IdPrefixForKey(z85);
  if (prefix.empty()) return id;
  std::string bytes(id.bytes());
  bytes.replace(0, prefix.size(), prefix);
  EndpointId::FromBytes(bytes, &id);
  return id;
}

Result<CurveKeyPair> GenerateCurveKeyPair() {
  char pub[41], secret[41];
  if (zmq_curve_keypair(pub, secret) != 0) {
    return Status(StatusCode::kUnsupported,
                  "this libzmq was built without CURVE: " + std::string(zmq_strerror(errno)));
  }
  return CurveKeyPair{pub, secret};
}

Result<std::string> CurvePublicKey(std::string_view secret_key) {
  if (!IsZ85Key(secret_key)) {
    return Status(StatusCode::kInvalidArgument, "not a Z85 key (40 characters)");
  }
  char pub[41];
  if (zmq_curve_public(pub, std::string(secret_key).c_str()) != 0) {
    return Status(StatusCode::kUnsupported, "this libzmq was built without CURVE");
  }
  return std::string(pub);
}

Status WriteKeyFiles(const std::string& name, const CurveKeyPair& pair) {
  const std::string pub = name + ".pub";
  const std::string secret = name + ".secret";
  struct stat st;
  for (const std::string& path : {pub, secret}) {
    if (stat(path.c_str(), &st) == 0) {
      return Status(StatusCode::kInvalidArgument,
                    path + " exists (keys are never replaced; remove it first)");
    }
  }
  ZINC_RETURN_IF_ERROR(WriteNew(secret, pair.secret_key + "\n", 0600));
  return WriteNew(pub, pair.public_key + "\n", 0644);
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status(StatusCode::kNotFound,
                  "cannot read key file " + path + ": " + std::strerror(errno));
  }
  if (EndsWith(path, ".secret")) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      return Status(StatusCode::kInvalidArgument,
                    path + " may be read by others (mode " + std::to_string((st.st_mode >> 6) & 7) +
                        std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                        "): chmod 600 it");
    }
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (!IsZ85Key(key)) {
    return Status(StatusCode::kInvalidArgument,
                  path + " does not hold a key (40 Z85 characters and a newline)");
  }
  return key;
}

Result<std::string> KeyFromArgument(const std::string& value) {
  if (IsZ85Key(value)) return value;
  return ReadKeyFile(value);
}

bool GlobMatch(std::string_view glob, std::string_view name) {
  return fnmatch(std::string(glob).c_str(), std::string(name).c_str(), 0) == 0;
}

bool KeyRights::CanRead(std::string_view doc) const {
  if (member) return true;  // It replicates every document for its children, and as standby.
  for (const std::string& g : read) {
    if (GlobMatch(g, doc)) return true;
  }
  return CanWrite(doc);
}

bool KeyRights::CanWrite(std::string_view doc) const {
  for (const std::string& g : write) {
    if (GlobMatch(g, doc)) return true;
  }
  return false;
}

Result<std::unordered_map<std::string, KeyRights>> ParseRightsFile(std::string_view text,
                                                                   const std::string& where,
                                                                   const RightsFileFormat& format) {
  std::unordered_map<std::string, KeyRights> out;
  const std::string rights_list =
      format.allow_member ? "read:GLOB, write:GLOB or member" : "read:GLOB or write:GLOB";
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string at = where + ":" + std::to_string(line_no) + ": ";
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string> fields;
    std::istringstream words{std::string(line)};
    for (std::string w; words >> w;) fields.push_back(w);
    if (fields.empty() || fields[0][0] == '#') continue;
    if (!format.valid(fields[0])) {
      return Status(StatusCode::kInvalidArgument,
                    at + "'" + fields[0] + "' is not " + format.credential);
    }
    if (fields.size() < 3) {
      return Status(
          StatusCode::kInvalidArgument,
          at + "a " + format.what + " needs a name and at least one right (" + rights_list + ")");
    }
    if (out.count(fields[0])) {
      return Status(StatusCode::kInvalidArgument, at + "the " + format.what + " of '" + fields[1] +
                                                      "' is listed again (one line per " +
                                                      format.what + ")");
    }
    KeyRights rights;
    rights.name = fields[1];
    for (size_t i = 2; i < fields.size(); ++i) {
      const std::string& r = fields[i];
      if (r == "member" && format.allow_member) {
        rights.member = true;
      } else if (r.rfind("read:", 0) == 0 && r.size() > 5) {
        rights.read.push_back(r.substr(5));
      } else if (r.rfind("write:", 0) == 0 && r.size() > 6) {
        rights.write.push_back(r.substr(6));
      } else {
        return Status(StatusCode::kInvalidArgument,
                      at + "'" + r + "' is not a right (" + rights_list + ")");
      }
    }
    out.emplace(fields[0], std::move(rights));
    if (end == text.size()) break;
  }
  return out;
}

Result<std::string> ReadSmallFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) {
    return Status(StatusCode::kNotFound,
                  "cannot read " + what + " " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<AuthorizedKeys> AuthorizedKeys::Parse(std::string_view text, const std::string& where) {
  RightsFileFormat format;
  format.valid = [](std::string_view k) { return IsZ85Key(k); };
  format.credential = "a public key (40 Z85 characters)";
  format.what = "key";
  format.allow_member = true;
  Result<std::unordered_map<std::string, KeyRights>> keys = ParseRightsFile(text, where, format);
  if (!keys.ok()) return keys.status();
  AuthorizedKeys out;
  out.keys_ = std::move(keys).value();
  for (auto& [key, rights] : out.keys_) rights.id_prefix = IdPrefixForKey(key);
  return out;
}

Result<AuthorizedKeys> AuthorizedKeys::Load(const std::string& path) {
  Result<std::string> text = ReadSmallFile(path, "authorized keys");
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

const KeyRights* AuthorizedKeys::Find(std::string_view key) const {
  auto it = keys_.find(std::string(key));
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace zinc

namespace zinc {

bool AuthorizedKeys::SameAs(const AuthorizedKeys& other) const {
  if (keys_.size() != other.keys_.size()) return false;
  for (const auto& [key, r] : keys_) {
    const KeyRights* o = other.Find(key);
    if (!o || o->name != r.name || o->read != r.read || o->write != r.write ||
        o->member != r.member) {
      return false;
    }
  }
  return true;
}

}  // namespace zinc
