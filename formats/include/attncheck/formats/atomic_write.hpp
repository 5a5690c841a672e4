// Writing files so that no reader sees half of one.
//
// write_file_atomically: one file, for the property suite's failing cases. The text goes to a
// temporary file beside the target named for this process, which is then renamed over it.
//
// write_all_or_nothing: a set of files, for `golden regen`:
// 1. Each new text goes to a temporary file beside its target (".NAME.tmp"), is fsync'ed
//    and closed. Any failure removes the temporaries: every old file is intact.
// 2. Each target that exists gets a hard link ".NAME.bak" to its old contents.
// 3. The temporaries are renamed over the targets (atomic per file on POSIX). If a rename
//    fails, the files already renamed are put back from their links (or removed if new).
// 4. The directory is fsync'ed and the links removed.
// A crash inside step 3 can leave a mix of old and new files, with the old ones still in
// their .bak links; nothing short of a transactional file system avoids that. A process killed
// at any step leaves its ".NAME.tmp" and ".NAME.bak" files behind: the writer's next run
// removes them with remove_all_or_nothing_leftovers(), under a lock that keeps other writers
// out (golden regen's, golden/src/regen.cpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace attncheck::formats {

struct FileWrite {
  std::filesystem::path path;
  std::string text;
};

// Writes text to path through a temporary file and a rename, so a reader never sees half a
// file; creates the directory. Throws std::runtime_error naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& text);

// Throws std::runtime_error naming the file and the system error; then no target has changed.
void write_all_or_nothing(const std::vector<FileWrite>& files);

// Where step 1 writes `target` (exposed so a test can make that write fail).
std::filesystem::path temporary_path_for(const std::filesystem::path& target);

// Removes what an interrupted write_all_or_nothing() of targets named "*<extension>" in dir left:
// the regular files named exactly "." + NAME + ".tmp" or "." + NAME + ".bak", where NAME ends
// with `extension`, has more before it, and does not itself start with "." (no target does).
// Nothing else is touched: not other dot-files, not directories, not links. Returns the
// removed paths, sorted. Call it only while no other writer can be writing into dir (it would
// remove that writer's live temporaries); throws std::runtime_error naming a file it cannot
// remove.
std::vector<std::filesystem::path> remove_all_or_nothing_leftovers(const std::filesystem::path& dir,
                                                                   const std::string& extension);

}  // namespace attncheck::formats
