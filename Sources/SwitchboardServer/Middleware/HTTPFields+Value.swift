import HTTPTypes

extension HTTPFields {
    /// The field's value as `self[name]` reads it (repeated fields joined), without the lazy join that subscript
    /// builds even for a single field: every request reads several fields, and the join showed in the profile.
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            // A repeated field (rare): the subscript's own join, so both read alike.
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }

    /// Sets the field as `self[name] = value` does, appending without the setter's generic search and rewrite when
    /// the field is not there yet (every field a response is stamped with).
    mutating func set(_ name: HTTPField.Name, _ value: String) {
        if contains(name) {
            self[name] = value
        } else {
            append(HTTPField(name: name, value: value))
        }
    }
}
