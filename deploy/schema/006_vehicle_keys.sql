-- Per-vehicle keys of the sealed wire (common/seal.h): 64 hex digits, NULL for a unit that is
-- not provisioned yet (it may talk unsealed only while the dispatcher allows unsealed units).
-- The key is a secret: this column must not be readable by reporting roles.
ALTER TABLE vehicles ADD COLUMN seal_key text
    CHECK (seal_key IS NULL OR seal_key ~ '^[0-9a-f]{64}$');
