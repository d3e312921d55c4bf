// storage::Health: what a storage::Database reports about its writes (database.h has the policy
// behind it). A plain value, copied out under the database's own locks.
#pragma once

#include <cstdint>
#include <string>

namespace tcc::storage {

struct Health {
  bool writable = true;              // false from a failed write until a reopen succeeds
  std::string cause;                 // why not, while not writable
  std::uint64_t write_failures = 0;  // failed writes, and writes refused while latched
  std::uint64_t reopens = 0;         // reopens tried
  std::uint64_t syncs = 0;           // synced writes that succeeded: one fsync of the log each
};

}  // namespace tcc::storage
