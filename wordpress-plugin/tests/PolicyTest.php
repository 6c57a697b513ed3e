<?php
use PHPUnit\Framework\TestCase;

final class PolicyTest extends TestCase {

	const TYPES = array( 'post' );

	private static function post( $status, $password = '', $type = 'post' ) {
		return array(
			'post_type'     => $type,
			'post_status'   => $status,
			'post_password' => $password,
		);
	}

	public function transitions() {
		$published = self::post( 'publish' );
		return array(
			'new post published'            => array( self::post( 'publish' ), null, false, 'publish' ),
			'published post updated'        => array( self::post( 'publish' ), $published, false, 'publish' ),
			'draft published'               => array( self::post( 'publish' ), self::post( 'draft' ), false, 'publish' ),
			'scheduled post goes live'      => array( self::post( 'publish' ), self::post( 'future' ), false, 'publish' ),
			'trashed'                       => array( self::post( 'trash' ), $published, false, 'unpublish' ),
			'back to draft'                 => array( self::post( 'draft' ), $published, false, 'unpublish' ),
			'made private'                  => array( self::post( 'private' ), $published, false, 'unpublish' ),
			'pending review'                => array( self::post( 'pending' ), $published, false, 'unpublish' ),
			'password added'                => array( self::post( 'publish', 'secret' ), $published, false, 'unpublish' ),
			'password removed'              => array( self::post( 'publish' ), self::post( 'publish', 'secret' ), false, 'publish' ),
			'new password-protected post'   => array( self::post( 'publish', 'secret' ), null, false, 'skip' ),
			'draft saved'                   => array( self::post( 'draft' ), self::post( 'draft' ), false, 'skip' ),
			'new draft'                     => array( self::post( 'draft' ), null, false, 'skip' ),
			'untrashed to draft'            => array( self::post( 'draft' ), self::post( 'trash' ), false, 'skip' ),
			'autosave of a published post'  => array( self::post( 'publish' ), $published, true, 'skip' ),
			'revision'                      => array( self::post( 'inherit', '', 'revision' ), null, false, 'skip' ),
			'published page'                => array( self::post( 'publish', '', 'page' ), null, false, 'skip' ),
			'published menu item'           => array( self::post( 'publish', '', 'nav_menu_item' ), null, false, 'skip' ),
		);
	}

	/**
	 * @dataProvider transitions
	 */
	public function test_saves_publish_unpublish_or_skip( $post, $before, $autosave, $expected ) {
		$this->assertSame( $expected, Newsrec_Policy::on_save( $post, $before, self::TYPES, $autosave ) );
	}

	public function test_other_post_types_when_the_site_adds_them() {
		$this->assertSame( 'publish', Newsrec_Policy::on_save( self::post( 'publish', '', 'story' ), null, array( 'post', 'story' ), false ) );
	}

	public function test_deleting_a_public_post_unpublishes_it_and_nothing_else() {
		$this->assertSame( 'unpublish', Newsrec_Policy::on_delete( self::post( 'publish' ), self::TYPES ) );
		$this->assertSame( 'skip', Newsrec_Policy::on_delete( self::post( 'trash' ), self::TYPES ) );
		$this->assertSame( 'skip', Newsrec_Policy::on_delete( self::post( 'draft' ), self::TYPES ) );
		$this->assertSame( 'skip', Newsrec_Policy::on_delete( self::post( 'publish', '', 'page' ), self::TYPES ) );
	}
}
