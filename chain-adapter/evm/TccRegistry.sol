// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title TCC registry: what a Transaction Channel Controller keeps on an EVM consortium chain.
/// @notice Evidence anchors (Merkle roots of settlement evidence, idempotent per batch id), the
/// identity registry (DID documents with versions), the template registry (TIT/TST versions with
/// an owner) and TIC records naming the TCC that opens the channel, plus a view that verifies an
/// RFC 9162 inclusion proof against an anchored root.
/// @dev Storage keeps only what the rules need (hashes, versions, the block of each record); the
/// bytes themselves travel in the events, which is where the adapter reads them back, checking
/// them against the stored hash. Every write is idempotent: repeating one that already landed
/// changes nothing and emits nothing, so a client may retry blindly. Revert reasons start with
/// a class ("invalid:", "conflict:", "exists:", "notfound:", "permission:") the adapter maps to
/// its error codes. Compiled for the `london` EVM (no PUSH0/MCOPY/TSTORE), see docs/evm.md.
contract TccRegistry {
    uint256 private constant MAX_ID_BYTES = 256;

    struct Version {
        bytes32 contentHash;
        uint64 blockNumber;
    }

    struct AnchorRecord {
        bytes32 root;
        uint64 leafCount;
        uint64 blockNumber;
    }

    struct DidRecord {
        address controller; // the account that registered the DID; only it may update
        uint64 latest;
    }

    struct TemplateRecord {
        bytes32 ownerKey; // keccak256 of the owner DID fixed by the first version
        uint64 latest;
    }

    /// The block this registry was deployed in: where event scans start.
    uint64 public immutable deployedAt;

    mapping(bytes32 => AnchorRecord) private anchors; // keccak256(batch id)
    mapping(bytes32 => bytes32) private firstBatchWithRoot; // root => keccak256(batch id)
    mapping(bytes32 => DidRecord) private dids; // keccak256(DID)
    mapping(bytes32 => mapping(uint64 => Version)) private didVersions;
    mapping(bytes32 => TemplateRecord) private templates; // keccak256(template id)
    mapping(bytes32 => mapping(uint64 => Version)) private templateVersions;
    mapping(bytes32 => Version) private tics; // keccak256(TIC id)

    event Anchored(bytes32 indexed batchKey, bytes32 indexed root, uint64 leafCount, string batchId);
    event DidUpdated(bytes32 indexed didKey, uint64 indexed version, string did, bytes document);
    event TemplatePublished(
        bytes32 indexed templateKey, uint64 indexed version, string id, string ownerDid, bytes content
    );
    event TicRecorded(bytes32 indexed ticKey, bytes32 indexed tccKey, string ticId, string tccDid, bytes content);

    constructor() {
        deployedAt = uint64(block.number);
    }

    function checkId(string calldata id) private pure {
        uint256 length = bytes(id).length;
        require(length > 0 && length <= MAX_ID_BYTES, "invalid: id must be 1..256 bytes");
    }

    // ---------------------------------------------------------------- evidence anchors

    function anchor(string calldata batchId, bytes32 root, uint64 leafCount) external {
        checkId(batchId);
        require(leafCount > 0, "invalid: leaf count must be at least 1");
        bytes32 batchKey = keccak256(bytes(batchId));
        AnchorRecord storage existing = anchors[batchKey];
        if (existing.blockNumber != 0) {
            require(
                existing.root == root && existing.leafCount == leafCount,
                "conflict: batch is already anchored with another root or leaf count"
            );
            return;
        }
        anchors[batchKey] = AnchorRecord(root, leafCount, uint64(block.number));
        if (firstBatchWithRoot[root] == bytes32(0)) firstBatchWithRoot[root] = batchKey;
        emit Anchored(batchKey, root, leafCount, batchId);
    }

    function getAnchor(bytes32 batchKey) external view returns (bytes32 root, uint64 leafCount, uint64 blockNumber) {
        AnchorRecord storage record = anchors[batchKey];
        return (record.root, record.leafCount, record.blockNumber);
    }

    /// The first batch anchored with `root` (zero key when none).
    function getAnchorByRoot(bytes32 root)
        external
        view
        returns (bytes32 batchKey, uint64 leafCount, uint64 blockNumber)
    {
        batchKey = firstBatchWithRoot[root];
        AnchorRecord storage record = anchors[batchKey];
        return (batchKey, record.leafCount, record.blockNumber);
    }

    /// True when `path` proves evidence leaf `leaf` at `index` in the tree of `treeSize` leaves
    /// whose root batch `batchKey` anchored. Hashing is RFC 9162 section 2.1 with SHA-256:
    /// leaf hash = sha256(0x00 || leaf), node hash = sha256(0x01 || left || right); the
    /// verification is RFC 9162 2.1.3.2, the same as chain-adapter/src/merkle.cpp.
    function verifyInclusion(bytes32 batchKey, bytes32 leaf, uint64 index, uint64 treeSize, bytes32[] calldata path)
        external
        view
        returns (bool)
    {
        AnchorRecord storage record = anchors[batchKey];
        if (record.blockNumber == 0 || record.leafCount != treeSize || index >= treeSize) return false;
        uint64 fn = index;
        uint64 sn = treeSize - 1;
        bytes32 r = sha256(abi.encodePacked(bytes1(0x00), leaf));
        for (uint256 i = 0; i < path.length; ++i) {
            if (sn == 0) return false;
            if ((fn & 1) == 1 || fn == sn) {
                r = sha256(abi.encodePacked(bytes1(0x01), path[i], r));
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = sha256(abi.encodePacked(bytes1(0x01), r, path[i]));
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == record.root;
    }

    // ---------------------------------------------------------------- identity registry

    function registerDid(string calldata did, bytes calldata document) external {
        checkId(did);
        require(document.length > 0, "invalid: DID document is empty");
        bytes32 didKey = keccak256(bytes(did));
        bytes32 documentHash = keccak256(document);
        DidRecord storage record = dids[didKey];
        if (record.latest != 0) {
            require(
                didVersions[didKey][1].contentHash == documentHash,
                "exists: DID is already registered with another document"
            );
            return;
        }
        dids[didKey] = DidRecord(msg.sender, 1);
        didVersions[didKey][1] = Version(documentHash, uint64(block.number));
        emit DidUpdated(didKey, 1, did, document);
    }

    function updateDid(string calldata did, bytes calldata document) external {
        checkId(did);
        require(document.length > 0, "invalid: DID document is empty");
        bytes32 didKey = keccak256(bytes(did));
        DidRecord storage record = dids[didKey];
        require(record.latest != 0, "notfound: DID is not registered");
        bytes32 documentHash = keccak256(document);
        // Updating to the current document is the retry of an update that landed.
        if (didVersions[didKey][record.latest].contentHash == documentHash) return;
        require(record.controller == msg.sender, "permission: only the registering account updates a DID");
        uint64 version = record.latest + 1;
        record.latest = version;
        didVersions[didKey][version] = Version(documentHash, uint64(block.number));
        emit DidUpdated(didKey, version, did, document);
    }

    /// `version` 0 means the latest. latest == 0: not registered; blockNumber == 0: no such version.
    function getDid(bytes32 didKey, uint64 version)
        external
        view
        returns (address controller, uint64 latest, bytes32 contentHash, uint64 blockNumber)
    {
        DidRecord storage record = dids[didKey];
        Version storage entry = didVersions[didKey][version == 0 ? record.latest : version];
        return (record.controller, record.latest, entry.contentHash, entry.blockNumber);
    }

    // ---------------------------------------------------------------- template registry

    function publishTemplate(
        string calldata id,
        uint64 version,
        string calldata ownerDid,
        bytes calldata content,
        bytes32 contentSha256
    ) external {
        checkId(id);
        checkId(ownerDid);
        require(version > 0, "invalid: template version must be at least 1");
        require(content.length > 0, "invalid: template content is empty");
        require(sha256(content) == contentSha256, "invalid: content hash is not SHA-256 of the content");
        bytes32 templateKey = keccak256(bytes(id));
        bytes32 ownerKey = keccak256(bytes(ownerDid));
        bytes32 contentHash = keccak256(content);
        TemplateRecord storage record = templates[templateKey];
        if (record.latest != 0) {
            require(record.ownerKey == ownerKey, "permission: template is owned by another DID");
            Version storage same = templateVersions[templateKey][version];
            if (same.blockNumber != 0) {
                require(same.contentHash == contentHash, "conflict: template version is already published with other content");
                return;
            }
            require(version > record.latest, "conflict: template version is not above the latest version");
        } else {
            record.ownerKey = ownerKey;
        }
        record.latest = version;
        templateVersions[templateKey][version] = Version(contentHash, uint64(block.number));
        emit TemplatePublished(templateKey, version, id, ownerDid, content);
    }

    /// `version` 0 means the latest. latest == 0: unknown id; blockNumber == 0: no such version.
    function getTemplate(bytes32 templateKey, uint64 version)
        external
        view
        returns (bytes32 ownerKey, uint64 latest, bytes32 contentHash, uint64 blockNumber)
    {
        TemplateRecord storage record = templates[templateKey];
        Version storage entry = templateVersions[templateKey][version == 0 ? record.latest : version];
        return (record.ownerKey, record.latest, entry.contentHash, entry.blockNumber);
    }

    // ---------------------------------------------------------------- TIC records

    function recordTic(string calldata ticId, string calldata tccDid, bytes calldata content) external {
        checkId(ticId);
        checkId(tccDid);
        require(content.length > 0, "invalid: TIC content is empty");
        bytes32 ticKey = keccak256(bytes(ticId));
        bytes32 contentHash = keccak256(abi.encode(tccDid, content));
        Version storage existing = tics[ticKey];
        if (existing.blockNumber != 0) {
            require(existing.contentHash == contentHash, "conflict: TIC is already recorded differently");
            return;
        }
        tics[ticKey] = Version(contentHash, uint64(block.number));
        emit TicRecorded(ticKey, keccak256(bytes(tccDid)), ticId, tccDid, content);
    }

    function getTic(bytes32 ticKey) external view returns (bytes32 contentHash, uint64 blockNumber) {
        Version storage record = tics[ticKey];
        return (record.contentHash, record.blockNumber);
    }
}
