#include "attncheck/formats/atomic_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace attncheck::formats {
namespace {

namespace fs = std::filesystem;

// ".NAME<suffix>" beside target (appended piecewise: GCC 12 warns falsely on "." + string).
fs::path sibling(const fs::path& target, const char* suffix) {
  std::string name = ".";
  name += target.filename().string();
  name += suffix;
  return target.parent_path() / name;
}

[[noreturn]] void fail(const fs::path& path, const std::string& what, int error) {
  throw std::runtime_error(path.string() + ": " + what + ": " + std::strerror(error));
}

void write_synced(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create", errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      fail(path, "cannot write", error);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail(path, "cannot fsync", error);
  }
  if (::close(fd) != 0) fail(path, "cannot close", errno);
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);  // best effort: some file systems refuse fsync on a directory
    ::close(fd);
  }
}

}  // namespace

fs::path temporary_path_for(const fs::path& target) { return sibling(target, ".tmp"); }

std::vector<fs::path> remove_all_or_nothing_leftovers(const fs::path& dir, const std::string& extension) {
  const auto ends_with = [](const std::string& text, const std::string& end) {
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
  };
  std::vector<fs::path> removed;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return removed;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || name[0] != '.' || name[1] == '.') continue;
    if (!ends_with(name, ".tmp") && !ends_with(name, ".bak")) continue;
    const std::string target = name.substr(1, name.size() - 5);  // NAME of ".NAME.tmp"
    if (target.size() <= extension.size() || !ends_with(target, extension)) continue;
    if (!entry.is_regular_file(error) || entry.is_symlink(error)) continue;
    if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) fail(entry.path(), "cannot remove a leftover", errno);
    removed.push_back(entry.path());
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}

void write_all_or_nothing(const std::vector<FileWrite>& files) {
  std::vector<fs::path> temporaries, backups(files.size());
  auto remove_leftovers = [&] {
    for (const fs::path& t : temporaries) ::unlink(t.c_str());
    for (const fs::path& b : backups) {
      if (!b.empty()) ::unlink(b.c_str());
    }
  };
  try {
    for (const FileWrite& f : files) {
      temporaries.push_back(temporary_path_for(f.path));
      write_synced(temporaries.back(), f.text);
    }
    for (size_t n = 0; n < files.size(); ++n) {
      if (::access(files[n].path.c_str(), F_OK) != 0) continue;  // a new file: nothing to keep
      const fs::path backup = sibling(files[n].path, ".bak");
      ::unlink(backup.c_str());  // a stale link from an interrupted run
      if (::link(files[n].path.c_str(), backup.c_str()) != 0) fail(files[n].path, "cannot keep the old file", errno);
      backups[n] = backup;
    }
  } catch (...) {
    remove_leftovers();
    throw;
  }
  for (size_t n = 0; n < files.size(); ++n) {
    if (::rename(temporaries[n].c_str(), files[n].path.c_str()) == 0) continue;
    const int error = errno;
    for (size_t m = 0; m < n; ++m) {  // undo the renames done so far
      if (!backups[m].empty()) {
        ::rename(backups[m].c_str(), files[m].path.c_str());
        backups[m].clear();
      } else {
        ::unlink(files[m].path.c_str());
      }
    }
    remove_leftovers();
    fail(files[n].path, "cannot replace", error);
  }
  if (!files.empty()) sync_directory(files.front().path.parent_path());
  for (const fs::path& b : backups) {
    if (!b.empty()) ::unlink(b.c_str());
  }
}

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code error;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), error);
  if (error) throw std::runtime_error(path + ": cannot create directory: " + error.message());
  const fs::path temporary = target.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(temporary.string() + ": cannot write");
  }
  fs::rename(temporary, target, error);
  if (error) {
    fs::remove(temporary, error);
    throw std::runtime_error(path + ": cannot rename the temporary file into place");
  }
}

}  // namespace attncheck::formats
