#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "io/byte_io.hpp"

namespace tapenet {

using io_detail::fail;
using io_detail::in_quotes;

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

AtomicFile::AtomicFile(std::string target)
    : target_(std::move(target)), temp_path_(target_ + ".tmp." + std::to_string(::getpid())) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) fail(in_quotes(target_), "cannot create temp file " + in_quotes(temp_path_) + ": " + errno_text());
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(temp_path_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    fail(in_quotes(target_), "write failed: " + errno_text());
}

void AtomicFile::commit() {
  sync_and_close();
  rename_over_target();
  fsync_directory();
}

// Data on disk before the rename: otherwise a crash could leave a renamed empty file.
void AtomicFile::sync_and_close() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) fail(in_quotes(target_), "fsync failed: " + errno_text());
  std::FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) fail(in_quotes(target_), "close failed: " + errno_text());
}

void AtomicFile::rename_over_target() {
  if (std::rename(temp_path_.c_str(), target_.c_str()) != 0)
    fail(in_quotes(target_), "rename from temp file failed: " + errno_text());
  committed_ = true;
}

// Makes the rename itself durable.
void AtomicFile::fsync_directory() const {
  std::string dir = std::filesystem::path(target_).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail(in_quotes(target_), "saved, but cannot open directory to fsync: " + errno_text());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL)
    fail(in_quotes(target_), "saved, but directory fsync failed: " + std::string(std::strerror(err)));
}

}  // namespace tapenet
