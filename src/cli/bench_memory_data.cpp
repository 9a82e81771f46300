#include "cli/bench_memory_data.hpp"

#include <array>
#include <set>
#include <string_view>

namespace lunadb::cli {

namespace {

// splitmix64: tiny, fast and the same everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <typename Container>
  const auto& pick(const Container& items) { return items[below(items.size())]; }

 private:
  std::uint64_t state_;
};

// One thing known about a person. Fact phrasings are paraphrases of each other (a second one is a
// near-duplicate); query phrasings ask for the value without saying it.
struct Attribute {
  std::string_view category;
  std::vector<std::string_view> fact_forms;   // {n}: the person, {v}: the value
  std::vector<std::string_view> query_forms;  // {n}
  std::vector<std::string_view> values;
  std::string_view change_form = {};          // a later fact that contradicts the first, or empty
};

const std::vector<Attribute>& attributes() {
  static const std::vector<Attribute> table{
      {"hobbies", {"{n} plays the {v} on weekends", "{n} has been learning the {v} for years"},
       {"What instrument does {n} play?", "Which musical instrument is {n} into?"},
       {"cello", "violin", "piano", "trumpet", "flute", "drums", "saxophone", "harp", "clarinet", "ukulele"}},
      {"work", {"{n} works as a {v}", "{n} earns a living as a {v}"},
       {"What does {n} do for a living?", "What is {n}'s profession?"},
       {"nurse", "plumber", "architect", "pharmacist", "pilot", "accountant", "carpenter", "veterinarian",
        "firefighter", "translator", "electrician", "librarian"},
       "{n} changed careers and is now a {v}"},
      {"places", {"{n} lives in {v}", "{n} has an apartment in {v}"},
       {"Where is {n}'s home?", "Which city is {n} based in?"},
       {"Lisbon", "Porto", "Krakow", "Osaka", "Nairobi", "Montreal", "Valparaiso", "Tbilisi", "Bergen", "Adelaide",
        "Cork", "Leipzig"},
       "{n} moved to {v} this year"},
      {"health", {"{n} is allergic to {v}", "{n} gets a rash from eating {v}"},
       {"Which food gives {n} a bad reaction?", "What must {n} never be served?"},
       {"peanuts", "shellfish", "strawberries", "sesame", "kiwi", "eggs", "walnuts", "celery"}},
      {"pets", {"{n} has a {v} at home", "{n} adopted a {v} from the shelter"},
       {"What kind of animal does {n} keep?", "Which pet does {n} own?"},
       {"golden retriever", "tabby cat", "parrot", "tortoise", "ferret", "beagle", "rabbit", "goldfish"}},
      {"possessions", {"{n} drives an old {v}", "{n} still gets around in a battered {v}"},
       {"What car does {n} own?", "Which vehicle brand does {n} have?"},
       {"Volvo", "Subaru", "Fiat", "Skoda", "Mazda", "Peugeot", "Lada", "Saab"}},
      {"food", {"{n}'s favourite dish is {v}", "{n} could eat {v} every day"},
       {"What meal does {n} like most?", "What should I cook when {n} visits?"},
       {"ramen", "paella", "moussaka", "pierogi", "tacos", "biryani", "risotto", "goulash", "pho", "falafel"}},
      {"hobbies", {"{n} goes {v} every Sunday", "{n} never misses a week of {v}"},
       {"What does {n} do for exercise?", "Which sport keeps {n} fit?"},
       {"swimming", "climbing", "cycling", "rowing", "running", "skiing", "fencing", "kayaking"}},
      {"languages", {"{n} speaks fluent {v}", "{n} grew up speaking {v}"},
       {"Which language does {n} know besides English?", "What is {n}'s mother tongue?"},
       {"Japanese", "Portuguese", "Swahili", "Polish", "Georgian", "Norwegian", "Tagalog", "Finnish", "Welsh"}},
      {"dates", {"{n}'s birthday is in {v}", "{n} was born in {v}"},
       {"When should I send {n} a card?", "Which month does {n} celebrate turning a year older?"},
       {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December"}},
      {"relationships", {"{n} is my {v}", "I know {n} because they are my {v}"},
       {"How do I know {n}?", "What is my connection to {n}?"},
       {"cousin", "neighbour", "colleague", "old classmate", "landlord", "dentist", "manager", "godmother",
        "personal trainer", "accountant"}},
      {"food", {"{n} only drinks {v} in the morning", "{n} starts every day with {v}"},
       {"What does {n} like to have at breakfast?", "Which hot drink does {n} prefer?"},
       {"green tea", "espresso", "oat milk latte", "mate", "rooibos", "hot chocolate", "chai"}},
      {"hobbies", {"{n} spends evenings {v}", "{n} unwinds by {v}"},
       {"What is {n}'s pastime?", "How does {n} relax after work?"},
       {"knitting", "painting watercolours", "building model trains", "birdwatching", "baking sourdough",
        "playing chess", "gardening", "doing jigsaw puzzles"}},
      {"education", {"{n} studied {v} at university", "{n} has a degree in {v}"},
       {"What did {n} major in?", "What was {n}'s field at college?"},
       {"marine biology", "medieval history", "civil engineering", "linguistics", "astrophysics", "economics",
        "philosophy", "chemistry"}},
      {"personality", {"{n} is terrified of {v}", "{n} panics around {v}"},
       {"What is {n} afraid of?", "What scares {n}?"},
       {"spiders", "flying", "deep water", "heights", "thunderstorms", "clowns", "dogs", "crowds"}},
      {"health", {"{n} stopped eating {v} last year", "{n} cut {v} out of their diet"},
       {"What food has {n} given up?", "Is there something {n} no longer eats?"},
       {"meat", "sugar", "dairy", "gluten", "bread", "fried food", "chocolate"}},
      {"preferences", {"{n} keeps rereading {v}", "{n}'s all-time favourite novel is {v}"},
       {"Which book does {n} love?", "What should I read to understand {n}'s taste in fiction?"},
       {"Moby-Dick", "War and Peace", "Dune", "Middlemarch", "The Hobbit", "Beloved", "Ulysses", "Emma"}},
      {"preferences", {"{n} would love a {v} as a present", "{n} has been hinting about wanting a {v}"},
       {"What gift should I get {n}?", "What could I buy {n} for their birthday?"},
       {"new backpack", "pair of hiking boots", "fountain pen", "record player", "telescope", "bread machine",
        "yoga mat"}},
  };
  return table;
}

// Identifiers: the value is a code the query quotes; embeddings of codes say little.
struct IdentifierForm {
  std::string_view category;
  std::string_view fact_form;   // {n}, {v}
  std::string_view query_form;  // {v}
  std::string_view pattern;     // A: letter, 9: digit
};

const std::vector<IdentifierForm>& identifier_forms() {
  static const std::vector<IdentifierForm> table{
      {"identifiers", "{n}'s library card number is {v}", "Whose library card is {v}?", "AA-99999-A"},
      {"identifiers", "The licence plate of {n}'s car is {v}", "Who drives the car with plate {v}?", "AA 999 AA"},
      {"identifiers", "{n}'s desk phone extension is {v}", "Who answers on extension {v}?", "x9999"},
  };
  return table;
}

constexpr std::array<std::string_view, 96> first_names{
    "Ana",     "Bilal",  "Chiara", "Dmitri", "Esme",    "Farid",  "Greta",   "Hiro",   "Ines",    "Jonah",
    "Kaja",    "Luca",   "Mirela", "Nils",   "Oona",    "Pavel",  "Quinn",   "Rania",  "Soren",   "Tamsin",
    "Ulla",    "Viktor", "Wanjiru", "Xavier", "Yara",   "Zoltan", "Amara",   "Bruno",  "Celeste", "Dario",
    "Elif",    "Florin", "Gwen",   "Hamid",  "Ilse",    "Jasper", "Keiko",   "Lorcan", "Maren",   "Nikolai",
    "Odile",   "Piet",   "Rosa",   "Stellan", "Tove",   "Umar",   "Vesna",   "Wim",    "Ximena",  "Yusuf",
    "Zora",    "Aurel",  "Beatriz", "Cyril", "Dagny",   "Emeka",  "Fenna",   "Goran",  "Halle",   "Ivo",
    "Jorunn",  "Kofi",   "Leonie", "Matteo", "Noor",    "Orla",   "Priya",   "Radu",   "Saskia",  "Tomas",
    "Uma",     "Valter", "Wren",   "Yannick", "Zainab", "Alma",   "Benedikt", "Cosima", "Desmond", "Edda",
    "Filip",   "Gaia",   "Henrik", "Isolde", "Jarek",   "Kirsi",  "Ludo",    "Malin",  "Nadir",   "Olek",
    "Petra",   "Rufus",  "Signe",  "Teodor", "Vilma",   "Willem"};

constexpr std::array<std::string_view, 24> onsets{"v", "k", "tr", "br", "z", "m", "h", "d", "sk", "l", "p", "gr",
                                                  "n", "r", "st", "f", "b", "dr", "t", "g", "kl", "s", "pl", "w"};
constexpr std::array<std::string_view, 8> vowels{"a", "e", "i", "o", "u", "ei", "ou", "y"};
constexpr std::array<std::string_view, 12> endings{"ll", "nsk", "rov", "dottir", "quist", "mann", "ard", "etti",
                                                   "vik", "ez", "os", "ic"};

std::string make_surname(Random& random) {
  std::string name;
  for (int syllable = 0; syllable < 2; ++syllable) {
    name += random.pick(onsets);
    name += random.pick(vowels);
  }
  name += random.pick(endings);
  name[0] = static_cast<char>(name[0] - 'a' + 'A');
  return name;
}

std::string fill(std::string_view form, std::string_view person, std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < form.size(); ++i) {
    if (form.substr(i, 3) == "{n}") {
      out += person;
      i += 2;
    } else if (form.substr(i, 3) == "{v}") {
      if (out.ends_with(" a ") && !value.empty() && std::string_view("AEIOUaeiou").find(value[0]) != std::string_view::npos)
        out.insert(out.size() - 1, "n");
      out += value;
      i += 2;
    } else {
      out += form[i];
    }
  }
  return out;
}

std::string make_code(Random& random, std::string_view pattern) {
  std::string code(pattern);
  for (char& c : code) {
    if (c == 'A') c = static_cast<char>('A' + random.below(26));
    else if (c == '9') c = static_cast<char>('0' + random.below(10));
  }
  return code;
}

constexpr std::int64_t two_years = 2 * 365 * 86400;

}  // namespace

MemoryBenchData generate_memory_bench_data(std::size_t fact_count, std::size_t query_count, std::uint64_t seed) {
  Random random(seed);
  MemoryBenchData data;
  data.facts.reserve(fact_count + 64);
  // What a query may ask about: the active facts that state one attribute of one person.
  struct Askable {
    std::string person;
    std::size_t attribute;  // index into attributes(), or attributes().size() + identifier index
    std::string value;
    std::vector<std::size_t> facts;
  };
  std::vector<Askable> askable;
  std::set<std::string> people;
  const auto& table = attributes();
  const auto& identifiers = identifier_forms();
  const auto add = [&](std::string_view category, std::string content, std::int64_t age) {
    BenchFact fact;
    fact.category = std::string(category);
    fact.content = std::move(content);
    fact.importance = 0.3 + 0.6 * random.unit();
    fact.age_seconds = age;
    data.facts.push_back(std::move(fact));
    return data.facts.size() - 1;
  };
  while (data.facts.size() < fact_count) {
    std::string person;
    do {
      person = std::string(random.pick(first_names)) + " " + make_surname(random);
    } while (!people.insert(person).second);
    for (std::size_t a = 0; a < table.size() && data.facts.size() < fact_count; ++a) {
      const Attribute& attribute = table[a];
      Askable ask{person, a, std::string(random.pick(attribute.values)), {}};
      const std::int64_t age = static_cast<std::int64_t>(random.below(two_years));
      const std::size_t form = random.below(attribute.fact_forms.size());
      std::size_t first = add(attribute.category, fill(attribute.fact_forms[form], person, ask.value), age);
      ask.facts.push_back(first);
      if (!attribute.change_form.empty() && random.unit() < 0.3) {
        // A contradiction: the person changed; the old fact is superseded and no longer relevant.
        std::string changed;
        do {
          changed = std::string(random.pick(attribute.values));
        } while (changed == ask.value);
        std::size_t newer = add(attribute.category, fill(attribute.change_form, person, changed),
                                static_cast<std::int64_t>(random.below(static_cast<std::size_t>(age) + 1)));
        data.facts[first].active = false;
        data.facts[first].superseded_by = newer;
        ask = Askable{person, a, changed, {newer}};
      } else if (random.unit() < 0.1) {
        // A paraphrased near-duplicate, told again later: both active, both relevant.
        const std::string_view other = attribute.fact_forms[(form + 1) % attribute.fact_forms.size()];
        ask.facts.push_back(add(attribute.category, fill(other, person, ask.value),
                                static_cast<std::int64_t>(random.below(static_cast<std::size_t>(age) + 1))));
      }
      askable.push_back(std::move(ask));
    }
    for (std::size_t i = 0; i < identifiers.size() && data.facts.size() < fact_count; ++i) {
      Askable ask{person, table.size() + i, make_code(random, identifiers[i].pattern), {}};
      ask.facts.push_back(add(identifiers[i].category, fill(identifiers[i].fact_form, person, ask.value),
                              static_cast<std::int64_t>(random.below(two_years))));
      askable.push_back(std::move(ask));
    }
  }
  // Questions about what can be asked, uniformly: about one in seven is an identifier; of the rest
  // most paraphrase, some name the value outright.
  for (std::size_t q = 0; q < query_count && !askable.empty(); ++q) {
    const Askable& ask = askable[random.below(askable.size())];
    BenchQuery query;
    query.relevant = ask.facts;
    const double roll = random.unit();
    if (ask.attribute >= table.size()) {
      query.kind = "identifier";
      query.text = fill(identifiers[ask.attribute - table.size()].query_form, ask.person, ask.value);
    } else if (roll < 0.88) {
      query.kind = "paraphrase";
      query.text = fill(random.pick(table[ask.attribute].query_forms), ask.person, ask.value);
    } else {
      query.kind = "name";
      query.text = "Tell me about " + ask.person + " and " + ask.value;
    }
    data.queries.push_back(std::move(query));
  }
  return data;
}

}  // namespace lunadb::cli
