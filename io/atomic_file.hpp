/// @file
/// A file written all or nothing: the bytes go to "<target>.tmp.<pid>", and commit()
/// fsyncs it, renames it over the target and fsyncs the directory. Destroyed without a
/// commit (an error, a full disk), it removes the temp file and the target keeps its
/// previous content. Errors throw CheckpointError naming the target.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace tapenet {

class AtomicFile {
 public:
  explicit AtomicFile(std::string target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  void commit();

 private:
  void sync_and_close();
  void rename_over_target();
  void fsync_directory() const;

  std::string target_, temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

}  // namespace tapenet
