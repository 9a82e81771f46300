// hnswlib's SSE prefetch reads past the end of a block, which AddressSanitizer reports; the
// scalar kernels are equivalent, so sanitizer builds use them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_MANUAL_VECTORIZATION
#endif
#endif

#include <hnswlib/hnswlib.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "lunadb/error.hpp"
#include "vector/distance.hpp"
#include "vector/hnsw_index.hpp"

namespace lunadb::vector::detail {

namespace {

// hnswlib's own spaces store what they are given and compute with SSE unless the whole build
// targets AVX; this one stores our elements and uses distance.hpp's run-time chosen kernels.
class ElementSpace final : public hnswlib::SpaceInterface<float> {
 public:
  ElementSpace(Distance distance, std::size_t dim)
      : dim_(dim), data_size_(element_floats(distance, dim) * sizeof(float)), distance_(element_distance(distance)) {}
  std::size_t get_data_size() override { return data_size_; }
  hnswlib::DISTFUNC<float> get_dist_func() override { return distance_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  std::size_t dim_;
  std::size_t data_size_;
  hnswlib::DISTFUNC<float> distance_;
};

// The level-0 block holds every element's links and vector (~3 kB each at 768 dimensions), and
// every search reads it at random. On 4 kB pages nearly each vector visited costs a TLB miss, and
// the hardware prefetcher stops at every page boundary, halfway through a vector; transparent
// huge pages remove both. Debian's kernels give them only to memory that asks (THP "madvise"),
// and the block must ask before its pages are first touched, so it is moved into a fresh 2 MiB
// aligned block that asks. hnswlib allocates the block with malloc and frees it with free, which
// aligned_alloc's memory allows. Done after each allocation by hnswlib (construction, load,
// resize); when the kernel offers no huge pages, the advice is ignored and only the copy is paid.
void move_level0_to_huge_pages(hnswlib::HierarchicalNSW<float>& g) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const std::size_t bytes = g.max_elements_ * g.size_data_per_element_;
  if (bytes < 2 * kHuge) return;  // too small for a TLB to notice
  const std::size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  char* block = static_cast<char*>(std::aligned_alloc(kHuge, rounded));
  if (block == nullptr) return;  // the old block serves
  madvise(block, rounded, MADV_HUGEPAGE);  // advice: plain pages if refused
  // Only the elements present are copied (the rest stays untouched, so not resident), in pieces,
  // each piece's old pages released once copied, so that the peak memory stays near one block.
  char* old = g.data_level0_memory_;
  const std::size_t used = g.cur_element_count * g.size_data_per_element_;
  const auto page = static_cast<std::uintptr_t>(4096);
  constexpr std::size_t kPiece = std::size_t{16} << 20;
  for (std::size_t done = 0; done < used; done += kPiece) {
    const std::size_t length = std::min(kPiece, used - done);
    std::memcpy(block + done, old + done, length);
    // Whole pages inside the copied range only; the old block's contents are not needed again.
    const auto first = (reinterpret_cast<std::uintptr_t>(old + done) + page - 1) / page * page;
    const auto last = reinterpret_cast<std::uintptr_t>(old + done + length) / page * page;
    if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
  std::free(old);
  g.data_level0_memory_ = block;
}

}  // namespace

struct HnswIndex::Impl {
  int dimension;
  std::size_t element_bytes;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;

  Impl(Distance distance, int dim)
      : dimension(dim),
        element_bytes(element_floats(distance, static_cast<std::size_t>(dim)) * sizeof(float)),
        space(std::make_unique<ElementSpace>(distance, static_cast<std::size_t>(dim))) {}
};

HnswIndex::HnswIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HnswIndex::HnswIndex(Distance distance, int dimension, int m, int ef_construction, std::size_t capacity)
    : impl_(std::make_unique<Impl>(distance, dimension)) {
  impl_->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      impl_->space.get(), std::max<std::size_t>(capacity, 16), static_cast<std::size_t>(m),
      static_cast<std::size_t>(ef_construction), 100);
  move_level0_to_huge_pages(*impl_->graph);
}

HnswIndex::~HnswIndex() = default;

namespace {

template <typename T>
bool read_pod(std::ifstream& in, T& out) {
  in.read(reinterpret_cast<char*>(&out), sizeof(T));
  return static_cast<bool>(in);
}

[[noreturn]] void corrupt(const std::filesystem::path& file, const std::string& why) {
  throw Error(ErrorKind::corrupt, "HNSW index file " + file.string() + " is invalid: " + why);
}

// hnswlib trusts every count and length in its file; check them first (ChromaDB #7238, #7510).
void validate_hnswlib_file(const std::filesystem::path& file, std::size_t element_bytes, int m) {
  std::ifstream in(file, std::ios::binary);
  if (!in) corrupt(file, "cannot open");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  std::size_t offset_level0 = 0, max_elements = 0, count = 0, size_per_element = 0, label_offset = 0, offset_data = 0;
  int max_level = 0;
  hnswlib::tableint enterpoint = 0;
  std::size_t max_m = 0, max_m0 = 0, m_read = 0, ef_construction = 0;
  double mult = 0;
  bool ok = read_pod(in, offset_level0) && read_pod(in, max_elements) && read_pod(in, count) &&
            read_pod(in, size_per_element) && read_pod(in, label_offset) && read_pod(in, offset_data) &&
            read_pod(in, max_level) && read_pod(in, enterpoint) && read_pod(in, max_m) && read_pod(in, max_m0) &&
            read_pod(in, m_read) && read_pod(in, mult) && read_pod(in, ef_construction);
  if (!ok) corrupt(file, "truncated header");
  const std::size_t links0 = 2 * static_cast<std::size_t>(m) * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  const std::size_t data_size = element_bytes;
  if (offset_level0 != 0 || m_read != static_cast<std::size_t>(m) || max_m != m_read || max_m0 != 2 * m_read ||
      offset_data != links0 || label_offset != links0 + data_size ||
      size_per_element != links0 + data_size + sizeof(hnswlib::labeltype)) {
    corrupt(file, "layout does not match element size " + std::to_string(element_bytes) + " and M " + std::to_string(m));
  }
  if (count > max_elements || count > (1u << 30) || (count > 0 && enterpoint >= count) || max_level < 0 ||
      max_level > 64 || !(mult > 0 && mult < 10)) {
    corrupt(file, "implausible counters");
  }
  const std::uint64_t header_size = static_cast<std::uint64_t>(in.tellg());
  std::uint64_t position = header_size + static_cast<std::uint64_t>(count) * size_per_element;
  if (position > file_size) corrupt(file, "truncated element data");
  const std::uint64_t links_per_element = max_m * sizeof(hnswlib::tableint) + sizeof(hnswlib::linklistsizeint);
  // The upper-level link lists are small (a few percent of the file): read them in one go rather
  // than seeking per element, which costs a system call and a buffer refill each.
  std::string tail(static_cast<std::size_t>(file_size - position), '\0');
  in.seekg(static_cast<std::streamoff>(position));
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (!in) corrupt(file, "cannot read the link lists");
  std::size_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    unsigned int list_size = 0;
    if (tail.size() - at < sizeof(list_size)) corrupt(file, "truncated link lists");
    std::memcpy(&list_size, tail.data() + at, sizeof(list_size));
    at += sizeof(list_size);
    if (list_size % links_per_element != 0 || list_size / links_per_element > static_cast<std::uint64_t>(max_level)) {
      corrupt(file, "bad link list size at element " + std::to_string(i));
    }
    if (tail.size() - at < list_size) corrupt(file, "truncated link lists");
    at += list_size;
  }
  position += at;
  if (position != file_size) corrupt(file, "trailing bytes");
}

}  // namespace

std::unique_ptr<HnswIndex> HnswIndex::load(const std::filesystem::path& file, Distance distance, int dimension, int m,
                                           std::size_t capacity) {
  auto impl = std::make_unique<Impl>(distance, dimension);
  validate_hnswlib_file(file, impl->element_bytes, m);
  try {
    impl->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(impl->space.get());
    // hnswlib 0.6.2 leaves num_deleted_ uninitialised in this path and counts onto it.
    impl->graph->num_deleted_ = 0;
    impl->graph->loadIndex(file.string(), impl->space.get(), capacity);
  } catch (const std::exception& e) {
    corrupt(file, e.what());
  }
  move_level0_to_huge_pages(*impl->graph);
  auto& g = *impl->graph;
  std::size_t deleted = 0;
  for (std::size_t i = 0; i < g.cur_element_count; ++i) {
    if (g.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) ++deleted;
    // Links must stay inside the element range, or searches would read out of bounds.
    for (int level = 0; level <= g.element_levels_[i]; ++level) {
      auto* list = g.get_linklist_at_level(static_cast<hnswlib::tableint>(i), level);
      auto n = g.getListCount(list);
      if (n > (level == 0 ? g.maxM0_ : g.maxM_)) corrupt(file, "too many links");
      auto* links = reinterpret_cast<hnswlib::tableint*>(list + 1);
      for (std::size_t j = 0; j < n; ++j) {
        if (links[j] >= g.cur_element_count) corrupt(file, "link out of range");
      }
    }
  }
  if (g.label_lookup_.size() != g.cur_element_count) corrupt(file, "duplicate labels");
  g.num_deleted_ = deleted;
  std::unique_ptr<HnswIndex> index(new HnswIndex(std::move(impl)));
  auto& table = index->internal_of_label_;
  for (const auto& [label, internal] : g.label_lookup_) {
    if (label >= kNone) corrupt(file, "label out of range");
    if (label >= table.size()) table.resize(label + 1, kNone);
    table[label] = static_cast<std::uint32_t>(internal);
  }
  return index;
}

const float* HnswIndex::element(std::uint32_t label) const {
  if (label >= internal_of_label_.size() || internal_of_label_[label] == kNone) return nullptr;
  return reinterpret_cast<const float*>(impl_->graph->getDataByInternalId(internal_of_label_[label]));
}

void HnswIndex::note_labels(std::span<const std::pair<const float*, std::uint32_t>> items) {
  auto& g = *impl_->graph;
  for (const auto& item : items) {
    const std::uint32_t label = item.second;
    if (label >= internal_of_label_.size()) internal_of_label_.resize(std::size_t{label} + 1, kNone);
    auto it = g.label_lookup_.find(label);
    internal_of_label_[label] = it == g.label_lookup_.end() ? kNone : static_cast<std::uint32_t>(it->second);
  }
}

void HnswIndex::reserve(std::size_t needed) {
  auto& g = *impl_->graph;
  if (needed <= g.max_elements_) return;
  std::size_t capacity = std::max<std::size_t>(g.max_elements_, 16);
  while (capacity < needed) capacity *= 2;
  g.resizeIndex(capacity);
  move_level0_to_huge_pages(g);
}

void HnswIndex::add_batch(std::span<const std::pair<const float*, std::uint32_t>> items, unsigned threads) {
  auto& g = *impl_->graph;
  reserve(static_cast<std::size_t>(g.cur_element_count) + items.size());
  // hnswlib draws random numbers (levels of new nodes, neighbour sampling in updates) from
  // unsynchronised generators. Updates of existing labels therefore stay sequential; parallel
  // inserts only perturb the random levels, which any value serves, but ThreadSanitizer rightly
  // reports that, so its builds insert on one thread.
#if defined(__SANITIZE_THREAD__)
  threads = 1;
#endif
  try {
    std::vector<std::size_t> fresh;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (g.label_lookup_.count(items[i].second)) {
        g.addPoint(items[i].first, items[i].second);
      } else {
        fresh.push_back(i);
      }
    }
    if (threads <= 1 || fresh.size() < 64) {
      for (std::size_t j : fresh) g.addPoint(items[j].first, items[j].second);
    } else {
      std::atomic<std::size_t> next{0};
      std::exception_ptr failure;
      std::mutex failure_mutex;
      auto worker = [&] {
        try {
          for (std::size_t j = next++; j < fresh.size(); j = next++) g.addPoint(items[fresh[j]].first, items[fresh[j]].second);
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          failure = std::current_exception();
          next = fresh.size();
        }
      };
      std::vector<std::thread> pool;
      for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
      worker();
      for (auto& t : pool) t.join();
      if (failure) std::rethrow_exception(failure);
    }
  } catch (...) {
    note_labels(items);  // whatever did get in must stay reachable by element()
    throw;
  }
  note_labels(items);
}

void HnswIndex::mark_deleted(std::uint32_t label) {
  auto& g = *impl_->graph;
  auto it = g.label_lookup_.find(label);
  if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) return;
  g.markDelete(label);
}

bool HnswIndex::contains_live(std::uint32_t label) const {
  auto& g = *impl_->graph;
  auto it = g.label_lookup_.find(label);
  return it != g.label_lookup_.end() && !g.isMarkedDeleted(it->second);
}

std::vector<std::pair<float, std::uint32_t>> HnswIndex::search(const float* query, std::size_t k, std::size_t ef) const {
  // searchKnn uses max(ef_, k) as its candidate list; asking for ef results avoids mutating ef_.
  auto found = impl_->graph->searchKnn(query, std::max(k, ef));
  std::vector<std::pair<float, std::uint32_t>> out(found.size());
  for (std::size_t i = found.size(); i-- > 0;) {
    out[i] = {found.top().first, static_cast<std::uint32_t>(found.top().second)};
    found.pop();
  }
  if (out.size() > k) out.resize(k);
  return out;
}

void HnswIndex::save(const std::filesystem::path& file) const {
  impl_->graph->saveIndex(file.string());
  // saveIndex does not report write errors (a full disk leaves a short file): read it back.
  validate_hnswlib_file(file, impl_->element_bytes, static_cast<int>(impl_->graph->M_));
}

std::size_t HnswIndex::element_count() const { return impl_->graph->cur_element_count; }
std::size_t HnswIndex::deleted_count() const { return impl_->graph->num_deleted_; }

std::vector<std::uint32_t> HnswIndex::labels() const {
  std::vector<std::uint32_t> out;
  out.reserve(impl_->graph->label_lookup_.size());
  for (const auto& [label, internal] : impl_->graph->label_lookup_) out.push_back(static_cast<std::uint32_t>(label));
  return out;
}

}  // namespace lunadb::vector::detail
